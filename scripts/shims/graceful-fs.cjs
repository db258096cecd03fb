// Build-time stand-in for graceful-fs (used by proper-lockfile). graceful-fs queues and
// retries opens on EMFILE and patches old Node.js fs quirks: worth it for programs that
// open thousands of files, pointless for one short CNI call touching a handful, and its
// load (streams, fs cloning) costs milliseconds of every start. Plain fs has the same API.
module.exports = require('node:fs');
