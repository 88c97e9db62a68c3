/** The controller's Prometheus metrics, with the names the proof of concept's docs list. */

/** Counters and gauges, rendered as Prometheus text exposition (version 0.0.4). */
export class ControllerMetrics {
  /** Submissions by `node_id="…",result="…"` labels. */
  readonly submissions: Map<string, number> = new Map();
  /** Membership changes by `node_id="…",membership="…"` labels. */
  readonly membershipChanges: Map<string, number> = new Map();
  /** Latest overall score by node id. */
  readonly scores: Map<string, number> = new Map();
  /** Rotation durations: counts per bucket bound, the sum and the count. */
  readonly #bounds = [0.001, 0.01, 0.1, 1];
  readonly #buckets = [0, 0, 0, 0];
  #rotationSum = 0;
  #rotationCount = 0;

  /** Counts a submission by node and result (accepted, or the refusal's HTTP status). */
  countSubmission(nodeId: string, result: string): void {
    const key = `node_id="${nodeId}",result="${result}"`;
    this.submissions.set(key, (this.submissions.get(key) ?? 0) + 1);
  }

  /** Counts a membership change of a node to `membership`. */
  countChange(nodeId: string, membership: string): void {
    const key = `node_id="${nodeId}",membership="${membership}"`;
    this.membershipChanges.set(key, (this.membershipChanges.get(key) ?? 0) + 1);
  }

  /** Records one rotation's duration. */
  observeRotation(seconds: number): void {
    this.#bounds.forEach((bound, i) => {
      if (seconds <= bound) this.#buckets[i]++;
    });
    this.#rotationSum += seconds;
    this.#rotationCount++;
  }

  /** The text `/metrics` serves. */
  render(): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string, values: Map<string, number>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of values) lines.push(`${name}{${labels}} ${value}`);
    };
    family(
      "mesh_benchmark_submissions_total",
      "counter",
      "Benchmark reports received, by node and result.",
      this.submissions,
    );
    family(
      "mesh_membership_changes_total",
      "counter",
      "Membership decisions that changed a node's membership.",
      this.membershipChanges,
    );
    const scores = new Map([...this.scores].map(([id, v]) => [`node_id="${id}"`, v]));
    family("mesh_node_score", "gauge", "Latest overall score of each node.", scores);
    const name = "mesh_epoch_rotation_duration_seconds";
    lines.push(`# HELP ${name} Time one epoch rotation took.`, `# TYPE ${name} histogram`);
    this.#bounds.forEach((bound, i) =>
      lines.push(`${name}_bucket{le="${bound}"} ${this.#buckets[i]}`)
    );
    lines.push(`${name}_bucket{le="+Inf"} ${this.#rotationCount}`);
    lines.push(`${name}_sum ${this.#rotationSum}`);
    lines.push(`${name}_count ${this.#rotationCount}`);
    return lines.join("\n") + "\n";
  }
}
