export { byKey, type CheckOptions, type CheckResult, checkLinearizability } from './check.js';
export { type KvInput, type KvOutput, kvModel, type Model, type Operation } from './model.js';
