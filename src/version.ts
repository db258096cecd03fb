/** The release version, replaced at build time from package.json (see scripts/build.mjs). */
declare const __POD_IPAM_VERSION__: string | undefined;
export const VERSION: string = typeof __POD_IPAM_VERSION__ === 'string' ? __POD_IPAM_VERSION__ : '0.0.0-dev';
