/**
 * Handing an idle process's spare memory back to the kernel: glibc's `malloc_trim` (free chunks
 * of every malloc arena, which Deno's threads leave behind after start-up), and `MADV_DONTNEED`
 * on the resident pages of the executable's own read-only segments. Those are clean file pages:
 * dropping them loses nothing, a later use faults them back in from the page cache, and what an
 * idle process still runs (a fifth of them, measured) comes back within seconds. Start-up code
 * (module loading, the snapshot, TypeScript) stays out of the resident set until used again.
 */

import { closeDescriptor, cString, libc, systemCallError } from "./libc.ts";

const MADV_DONTNEED = 4;
const PAGE_BYTES = 4096;
const O_RDONLY = 0;
const O_CLOEXEC = 0x80000;

/**
 * The text of a /proc file, read through libc: Deno refuses /proc/self/* to anything short of
 * --allow-all, and this layer already holds --allow-ffi, which can do anything anyway.
 */
export function readProcFile(path: string): string {
  const fd = libc().open(cString(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw systemCallError(`open(${path})`);
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const chunk = new Uint8Array(65536);
      const length = libc().read(fd, chunk, chunk.byteLength);
      if (length < 0) throw systemCallError(`read(${path})`);
      if (length === 0) break;
      chunks.push(chunk.subarray(0, length));
    }
    const text = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let at = 0;
    for (const chunk of chunks) {
      text.set(chunk, at);
      at += chunk.length;
    }
    return new TextDecoder().decode(text);
  } finally {
    closeDescriptor(fd, path);
  }
}

/**
 * The path of this process's executable as the kernel names it in smaps (/proc/self/exe through
 * libc: Deno.execPath needs read permission on the binary, which the systemd unit does not grant).
 */
export function executablePath(): string {
  const buffer = new Uint8Array(4096);
  const length = libc().readlink(cString("/proc/self/exe"), buffer, buffer.byteLength);
  if (length < 0) throw systemCallError("readlink(/proc/self/exe)");
  return new TextDecoder().decode(buffer.subarray(0, length));
}

/** One mapping line of /proc/self/smaps, with the two sizes that matter here. */
export interface Mapping {
  start: number;
  end: number;
  /** e.g. "r-xp". */
  permissions: string;
  /** File offset of the mapping's first byte. */
  offset: number;
  /** The file, or "" for anonymous memory. */
  path: string;
  /** Resident bytes. */
  residentBytes: number;
  /** Bytes that are anonymous (copied on write): a mapping with any must never be dropped. */
  anonymousBytes: number;
}

/** Parses /proc/<pid>/smaps text into mappings. */
export function parseSmaps(text: string): Mapping[] {
  const mappings: Mapping[] = [];
  let current: Mapping | null = null;
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      current = {
        start: parseInt(head[1], 16),
        end: parseInt(head[2], 16),
        permissions: head[3],
        offset: parseInt(head[4], 16),
        path: head[5],
        residentBytes: 0,
        anonymousBytes: 0,
      };
      mappings.push(current);
      continue;
    }
    const field = /^(Rss|Anonymous):\s+(\d+) kB$/.exec(line);
    if (field && current) {
      if (field[1] === "Rss") current.residentBytes = Number(field[2]) * 1024;
      else current.anonymousBytes = Number(field[2]) * 1024;
    }
  }
  return mappings;
}

/**
 * The executable's image segments that may be dropped: mapped from `executable` when the process
 * started (the ones below its first writable segment: never unmapped, so no other thread can put
 * anything else at those addresses), not writable, with no anonymous page. V8's per-isolate
 * copies of the builtins are left alone: a worker that ends unmaps its copy, and the address may
 * be reused for heap memory by the time madvise runs.
 */
export function droppableImageSegments(
  mappings: readonly Mapping[],
  executable: string,
): Mapping[] {
  const image = mappings.filter((mapping) => mapping.path === executable);
  if (image.length === 0) return [];
  const firstWritable = image.find((mapping) => mapping.permissions[1] === "w");
  if (!firstWritable) return [];
  const base = image[0].start;
  return image.filter((mapping) =>
    mapping.start >= base && mapping.end <= firstWritable.start &&
    mapping.permissions[1] === "-" && mapping.permissions[3] === "p" &&
    mapping.anonymousBytes === 0 && mapping.residentBytes > 0
  );
}

/** What one release did. */
export interface MemoryRelease {
  /** True when malloc_trim gave memory back. */
  trimmed: boolean;
  /** Resident bytes of the executable's image that were dropped. */
  imageBytes: number;
}

/**
 * Trims every malloc arena and drops the resident pages of the executable's read-only image
 * segments (needs only --allow-ffi). Throws SystemCallError when /proc cannot be read; a segment
 * madvise refuses is skipped, since nothing depends on the drop.
 */
export function releaseIdleMemory(executable: string = executablePath()): MemoryRelease {
  const trimmed = libc().malloc_trim(0) === 1;
  let imageBytes = 0;
  const smaps = readProcFile("/proc/self/smaps");
  for (const segment of droppableImageSegments(parseSmaps(smaps), executable)) {
    const start = segment.start - (segment.start % PAGE_BYTES);
    if (libc().madvise(start, segment.end - start, MADV_DONTNEED) === 0) {
      imageBytes += segment.residentBytes;
    }
  }
  return { trimmed, imageBytes };
}
