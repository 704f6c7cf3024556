/**
 * Lanes of queued verification jobs, served by deficit round robin (Shreedhar and Varghese, 1995): each lane
 * in turn may take up to `quantum` signatures, its own jobs in order, and a job larger than its credit waits
 * for the credit of later turns. So the lanes of one ring share what is taken from it max-min fairly: a lane
 * with a few checks has them taken within one round however many another lane has queued. The batch
 * scheduler keeps one ring per class of work (consensus before broadcasts, batch-scheduler.ts); a lane is
 * whom the work is for (the node gives each connection its own).
 */
import { itemBytes, itemSignatures, type BatchItemInput } from './packing.ts';

/** What a lane queues: an item and whatever the owner keeps with it. */
export interface LaneJob {
  item: BatchItemInput;
}

/** Taken jobs are cut from the front of a lane's array once this many have piled up. */
const queueCompactAt = 1024;

/** The jobs of one lane, in order, and its credit in signatures for the current turn. */
class Lane<J extends LaneJob> {
  readonly jobs: J[] = [];
  head = 0;
  deficit = 0;
  /** Its turn has begun (the quantum is added once a turn, not again when a full batch interrupted it). */
  inTurn = false;

  constructor(readonly key: string) {}

  get empty(): boolean {
    return this.head >= this.jobs.length;
  }

  shift(): J {
    const job = this.jobs[this.head] as J;
    this.jobs[this.head++] = undefined as unknown as J;
    if (this.head >= this.jobs.length) {
      this.jobs.length = 0;
      this.head = 0;
    } else if (this.head >= queueCompactAt && this.head * 2 >= this.jobs.length) {
      // Under sustained load a lane may never empty: drop the taken jobs so it cannot grow without end.
      this.jobs.splice(0, this.head);
      this.head = 0;
    }
    return job;
  }
}

/** Lanes by key in round-robin order, with the signatures and jobs queued in all of them. */
export class LaneRing<J extends LaneJob> {
  readonly #lanes = new Map<string, Lane<J>>();
  /** The lanes with jobs, in round-robin order; the first has the turn. */
  #ring: Lane<J>[] = [];
  #signatures = 0;

  /** @param quantum signatures a lane may take each time its turn comes round */
  constructor(readonly quantum: number) {}

  /** Signatures queued in every lane. */
  get signatures(): number {
    return this.#signatures;
  }

  get empty(): boolean {
    return this.#ring.length === 0;
  }

  /** Queues `job` at the back of lane `key` (a new lane joins the ring at the back). */
  push(key: string, job: J): void {
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = new Lane<J>(key);
      this.#lanes.set(key, lane);
      this.#ring.push(lane);
    }
    lane.jobs.push(job);
    this.#signatures += itemSignatures(job.item);
  }

  /**
   * The job deficit round robin takes next (the ring must not be empty), without taking it: lanes short of
   * credit for their next job end their turn here and go to the back. A lane keeps its turn and its credit
   * while its next job waits for room in a batch.
   */
  peek(): J {
    for (;;) {
      const lane = this.#ring[0] as Lane<J>;
      if (!lane.inTurn) {
        lane.inTurn = true;
        lane.deficit += this.quantum;
      }
      const job = lane.jobs[lane.head] as J;
      if (itemSignatures(job.item) <= lane.deficit) return job;
      lane.inTurn = false;
      this.#ring.shift();
      this.#ring.push(lane);
    }
  }

  /** Takes the job peek() returned. An emptied lane leaves the ring; its credit does not carry over. */
  take(): J {
    const lane = this.#ring[0] as Lane<J>;
    const job = lane.shift();
    const n = itemSignatures(job.item);
    lane.deficit -= n;
    this.#signatures -= n;
    if (lane.empty) {
      lane.inTurn = false;
      lane.deficit = 0;
      this.#ring.shift();
      this.#lanes.delete(lane.key);
    }
    return job;
  }

  /** Bytes of every queued job (the caller bounds how many jobs that walks). */
  bytes(): number {
    let bytes = 0;
    for (const lane of this.#ring) for (let i = lane.head; i < lane.jobs.length; i++) bytes += itemBytes((lane.jobs[i] as J).item);
    return bytes;
  }

  /** Removes and returns every queued job (the owner is closing). */
  drain(): J[] {
    const jobs = this.#ring.flatMap((lane) => lane.jobs.slice(lane.head));
    this.#lanes.clear();
    this.#ring = [];
    this.#signatures = 0;
    return jobs;
  }
}

/**
 * The bound on a class served first (consensus checks) while another waits (broadcasts): a credit in
 * signatures that the first class spends when it goes ahead and the second earns back as it is served, at
 * `percentMax` / (100 - percentMax) per signature, up to `burst` (or one signature's earning, if more). So while both wait, the first class takes
 * at most percentMax percent of the signatures beyond one burst; while the second has nothing queued, the first
 * goes freely and spends nothing (nobody waited). The credit may go into debt by one job: a job is never split.
 */
export class ClassShare {
  #credit: number;
  readonly #earnPerSignature: number;
  /** The credit's ceiling: the burst, but never below what one signature of the second class earns (else the share could not be taken). */
  readonly #ceiling: number;

  /**
   * @param percentMax most percent of the signatures taken while both wait that the first class takes (1..99)
   * @param burst signatures the first class may take ahead before its share applies (the credit's ceiling)
   */
  constructor(
    readonly percentMax: number,
    readonly burst: number,
  ) {
    this.#credit = burst;
    this.#earnPerSignature = percentMax / (100 - percentMax);
    this.#ceiling = Math.max(burst, this.#earnPerSignature);
  }

  /** Whether the first class may go ahead of the waiting second class now. */
  get allows(): boolean {
    return this.#credit > 0;
  }

  /** `signatures` of the first class went ahead of waiting work of the second. */
  spend(signatures: number): void {
    this.#credit -= signatures;
  }

  /** `signatures` of the second class were taken. */
  earn(signatures: number): void {
    this.#credit = Math.min(this.#ceiling, this.#credit + signatures * this.#earnPerSignature);
  }
}
