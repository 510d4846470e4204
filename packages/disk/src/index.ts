// @strand/disk — a storage process's data folder: what it does when the disk fills, and
// which app and layout the folder holds.

export { DiskGuard, type DiskGuardOptions } from './disk-guard.js';

// Which app a data folder belongs to and in which layout: refused when not this one's
export {
  checkDataFormat,
  DATA_FORMAT_FILE,
  DATA_FORMAT_VERSION,
  DataFolderError,
  type DataFolderKind,
} from './data-format.js';
