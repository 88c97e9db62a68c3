/**
 * StrictModes, as sshd applies them to authorized_keys: whoever can write the config
 * directory, `authorized_keys/`, `trusted_orgs/` or a key file can make this node trust any key
 * or swap its identity, so such a path must not be writable by group or others and must be
 * owned by root or by the user running meshguard.
 */

/** The ownership and mode of a path, as stat() reports them. */
export interface PathOwnership {
  mode: number | null;
  uid: number | null;
}

/**
 * The uid allowed to own config files besides root; null without --allow-sys=uid (Deno also
 * guards /proc/self), in which case only root-owned paths pass.
 */
export function currentUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/**
 * Why `path` is unsafe to take keys from, or null when it is safe; the text names the command
 * that fixes it. `ownUid` is the user running meshguard (null: unknown, so only root may own it).
 */
export function ownershipProblem(
  path: string,
  info: PathOwnership,
  ownUid: number | null,
): string | null {
  const writable = (info.mode ?? 0) & 0o022;
  if (writable !== 0) {
    const who = writable === 0o022 ? "group and others" : writable === 0o020 ? "group" : "others";
    return `refusing to use ${path}: it is writable by ${who} (mode ${
      octal(info.mode ?? 0)
    }), so another user could change which keys this node uses and trusts; fix it with: ` +
      `chmod go-w ${path}`;
  }
  if (info.uid !== null && info.uid !== 0 && info.uid !== ownUid) {
    const self = ownUid === null || ownUid === 0;
    const allowed = self ? "root" : `root or uid ${ownUid} (the user running meshguard)`;
    const unknown = ownUid === null
      ? " (meshguard could not learn its own uid: it needs --allow-sys=uid)"
      : "";
    return `refusing to use ${path}: it is owned by uid ${info.uid}, who could change which ` +
      `keys this node uses and trusts; only ${allowed} may own it${unknown}; fix it with: ` +
      `chown ${self ? "root" : ownUid} ${path}`;
  }
  return null;
}
