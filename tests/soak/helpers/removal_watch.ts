/**
 * Watches for members being removed while they were reachable. Two sources feed it: every
 * daemon's log (`peer node7 (10.99.x.y) dead|left`, `tunnel to node7 removed`, with the daemon's
 * own timestamps, so nothing between two polls is missed) and every status the soak reads (a
 * peer listed dead/left, or a listed peer that vanished). Each fault opens an *excuse* naming
 * which observers may lose which subjects for how long (a killed node may be declared dead by
 * everyone until it has rejoined; across a partition both sides may drop each other until the
 * heal has converged); any removal no excuse covers is a violation.
 */

import type { DaemonStatus } from "../../mesh/helpers/daemon_status.ts";
import type { MeshLab } from "../../mesh/helpers/mesh_lab.ts";

/** What happened to a subject in an observer's view. */
export type RemovalKind = "dead" | "left" | "tunnel removed" | "forgotten";

/** One removal seen in a log or a status. */
export interface RemovalEvent {
  /** Wall-clock time (ms since the epoch). */
  at: number;
  /** Node index whose view this is. */
  observer: number;
  /** Node index that was removed. */
  subject: number;
  kind: RemovalKind;
  /** The log line or status entry it came from. */
  evidence: string;
}

/** Nodes an excuse applies to: a list, or every node. */
type NodeSet = ReadonlySet<number> | "all";

/** Permission for some observers to remove some subjects within a time window. */
interface Excuse {
  reason: string;
  observers: NodeSet;
  subjects: NodeSet;
  /** Pairs only across groups (a partition): observer and subject in different groups. */
  across?: (observer: number, subject: number) => boolean;
  from: number;
  to: number;
}

/** Clock granularity between the daemons' log stamps and the test's Date.now(). */
const SLACK_MS = 1_000;

const LOG_LINE =
  /^(\S+Z) \w+ (?:peer (\S+) \(\S+\) (dead|left|suspect)|tunnel to (\S+) removed)$/gm;

/** Collects removals and decides which were allowed. */
export class RemovalWatch {
  private readonly lab: MeshLab;
  private readonly byName = new Map<string, number>();
  private readonly events: RemovalEvent[] = [];
  private readonly excuses: Excuse[] = [];
  /** Per observer: how much of its log has been read (only whole lines). */
  private readonly logOffsets = new Map<number, number>();
  /** Per observer: state of each subject in the last status read. */
  private readonly lastSeen = new Map<number, Map<number, string>>();
  /** Suspicions logged, with the time (for the report: Lifeguard refutes most). */
  readonly suspicions: { at: number; observer: number; subject: number }[] = [];

  /** A watch over `lab`'s nodes (matched by their trust names `node<k>`). */
  constructor(lab: MeshLab) {
    this.lab = lab;
    for (const node of lab.nodes) this.byName.set(node.name, node.index);
  }

  /**
   * Opens an excuse from now until the returned function is called (then until that moment).
   * `observers`/`subjects` are node indices or "all"; `across` limits it to pairs it accepts.
   */
  excuse(
    reason: string,
    observers: number[] | "all",
    subjects: number[] | "all",
    across?: (observer: number, subject: number) => boolean,
  ): () => void {
    const excuse: Excuse = {
      reason,
      observers: observers === "all" ? "all" : new Set(observers),
      subjects: subjects === "all" ? "all" : new Set(subjects),
      across,
      from: Date.now(),
      to: Infinity,
    };
    this.excuses.push(excuse);
    return () => {
      excuse.to = Date.now();
    };
  }

  /** Records what a status read from `observer` shows (dead/left entries, vanished peers). */
  observeStatus(observer: number, status: DaemonStatus): void {
    const now = Date.now();
    const previous = this.lastSeen.get(observer) ?? new Map<number, string>();
    const current = new Map<number, string>();
    for (const entry of status.peers) {
      const subject = this.byName.get(entry.name);
      if (subject === undefined) continue;
      current.set(subject, entry.state);
      if (
        (entry.state === "dead" || entry.state === "left") &&
        previous.get(subject) !== entry.state
      ) {
        this.events.push({
          at: now,
          observer,
          subject,
          kind: entry.state,
          evidence: `status of node${observer}: ${entry.name} ${entry.state}`,
        });
      }
    }
    for (const [subject, state] of previous) {
      if (current.has(subject) || state === "dead" || state === "left") continue;
      this.events.push({
        at: now,
        observer,
        subject,
        kind: "forgotten",
        evidence: `status of node${observer}: node${subject} (was ${state}) no longer listed`,
      });
    }
    this.lastSeen.set(observer, current);
  }

  /** Forgets what `observer`'s status showed (its daemon restarted with an empty view). */
  resetObserver(observer: number): void {
    this.lastSeen.delete(observer);
  }

  /** Reads what every daemon logged since the last scan. */
  async scanLogs(): Promise<void> {
    for (const node of this.lab.nodes) {
      let text: string;
      try {
        text = await Deno.readTextFile(node.logPath);
      } catch {
        continue; // never started
      }
      const offset = this.logOffsets.get(node.index) ?? 0;
      const end = text.lastIndexOf("\n") + 1;
      if (end <= offset) continue;
      this.logOffsets.set(node.index, end);
      for (const match of text.slice(offset, end).matchAll(LOG_LINE)) {
        const at = Date.parse(match[1]);
        const name = match[2] ?? match[4];
        const subject = this.byName.get(name);
        if (subject === undefined || Number.isNaN(at)) continue;
        if (match[3] === "suspect") {
          this.suspicions.push({ at, observer: node.index, subject });
          continue;
        }
        const kind: RemovalKind = match[4] !== undefined
          ? "tunnel removed"
          : match[3] as RemovalKind;
        this.events.push({ at, observer: node.index, subject, kind, evidence: match[0] });
      }
    }
  }

  private covered(event: RemovalEvent): boolean {
    return this.excuses.some((excuse) =>
      event.at >= excuse.from - SLACK_MS && event.at <= excuse.to + SLACK_MS &&
      (excuse.observers === "all" || excuse.observers.has(event.observer)) &&
      (excuse.subjects === "all" || excuse.subjects.has(event.subject)) &&
      (excuse.across === undefined || excuse.across(event.observer, event.subject))
    );
  }

  /** Every removal so far that no excuse covers (scan the logs first). */
  violations(): RemovalEvent[] {
    return this.events.filter((event) => !this.covered(event));
  }

  /**
   * Removals seen since `since` (ms since the epoch), for the report: distinct
   * (observer, subject) pairs per kind, so a log line and a status showing the same are one.
   */
  countsSince(since: number): Record<RemovalKind, number> {
    const seen: Record<RemovalKind, Set<string>> = {
      dead: new Set(),
      left: new Set(),
      "tunnel removed": new Set(),
      forgotten: new Set(),
    };
    for (const event of this.events) {
      if (event.at >= since) seen[event.kind].add(`${event.observer}:${event.subject}`);
    }
    return {
      dead: seen.dead.size,
      left: seen.left.size,
      "tunnel removed": seen["tunnel removed"].size,
      forgotten: seen.forgotten.size,
    };
  }

  /** Suspicions logged since `since` (ms since the epoch). */
  suspicionsSince(since: number): number {
    return this.suspicions.filter((entry) => entry.at >= since).length;
  }
}

/**
 * What the subject and the observer of `event` logged in the 15 s before it (and 3 s after),
 * without debug lines: shows whether the subject was stalled (a gap) or busy refuting.
 */
export async function violationContext(lab: MeshLab, event: RemovalEvent): Promise<string> {
  const parts: string[] = [];
  for (const k of new Set([event.subject, event.observer])) {
    let text = "";
    try {
      text = await Deno.readTextFile(lab.node(k).logPath);
    } catch {
      // never started
    }
    const lines = text.split("\n").filter((line) => {
      const at = Date.parse(line.slice(0, line.indexOf(" ")));
      return at >= event.at - 15_000 && at <= event.at + 3_000 && !line.includes(" DEBUG ");
    });
    parts.push(`  --- node${k}'s log around it ---\n${lines.slice(-30).join("\n")}`);
  }
  return parts.join("\n");
}

/** One line per violation, for an assertion message. */
export function describeViolations(events: RemovalEvent[]): string {
  return events.map((event) =>
    `  ${new Date(event.at).toISOString()} node${event.observer}: node${event.subject} ` +
    `${event.kind} (${event.evidence})`
  ).join("\n");
}
