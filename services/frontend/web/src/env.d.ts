/** The package version, set by vite.config.mts. */
declare const __APP_VERSION__: string;
