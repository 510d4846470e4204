// @strand/disk — what a storage process does when its disk fills.

export { DiskGuard, type DiskGuardOptions } from './disk-guard.js';
