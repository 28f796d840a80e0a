/** The package's version (`mrsync --version`): read from package.json at build time, so the bundle carries it. */
import manifest from "../package.json" with { type: "json" };

export const VERSION: string = manifest.version;
