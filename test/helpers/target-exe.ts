/** Jest setup for the "exe" project: process-level tests run the single executable. */
process.env.POD_IPAM_TARGET = 'exe';
