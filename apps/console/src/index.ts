// @strand/console — the web console (its server; `main.ts` runs it).
export { startConsole } from './server.js';
