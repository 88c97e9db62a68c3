/** The meshguard version, read from deno.json so there is one place to bump it. */

import manifest from "../deno.json" with { type: "json" };

/** The version string printed by `meshguard version`. */
export const VERSION: string = manifest.version;
