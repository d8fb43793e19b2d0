export { createListenStream, ListenStream, DEFAULT_URL, type ListenStreamOptions } from './listen/stream.js';
export { DeepgramError, type DeepgramErrorCode } from './listen/errors.js';
export { startServer, type ServerOptions, type LocalServer, type Faults } from './server/index.js';
export { checkQuery, toSearchParams, ENCODINGS, type ListenQuery, type Encoding } from './protocol/options.js';
export * from './protocol/messages.js';
