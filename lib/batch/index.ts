// `deepgram-stream/batch`: many files at once, each to its transcript files. (The Redis queue is
// `deepgram-stream/queue`, so that importing this does not load BullMQ and ioredis.)
export {
  transcribeMany,
  transcribeOne,
  outputName,
  type BatchOptions,
  type FileResult,
  type Progress,
} from './many.js';
export { FORMATS, formatter, type Format } from './outputs.js';
