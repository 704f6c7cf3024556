/**
 * The batch scheduler: the queue between the verifier and whatever runs packed batches (a BatchExecutor:
 * worker threads, or the main thread). It cuts queued jobs into batches, keeps the executor busy without
 * flooding it, accounts for every signature queued or in flight, refuses work beyond the pending limit, and
 * fails what is left when it closes. It knows nothing of caches or chains: a job is a packed item and two
 * callbacks.
 *
 * Batching adapts to load. Jobs arriving in the same event-loop turn (or within `batchWaitMs`) are cut into
 * tasks; a full batch (`batchMax` signatures) is posted at once while fewer than two tasks per thread are in
 * flight; a partial batch only when a thread is idle, split across the idle threads for latency. Under load,
 * jobs therefore wait for a thread and merge into full batches, which is what keeps the per-task overhead
 * small; with light load a job is posted in the turn it arrives.
 *
 * A partial batch of at most `inlineSignaturesMax` signatures is verified on this thread instead (the
 * executor's runHere, the same function a worker runs) while this thread has spent less than
 * `inlineMsPerSecMax` of each second doing so: a task has a fixed cost (posting it, waking a sleeping thread,
 * the result's way back and waking this one), measured on a 2-core VM at 100 to 190 us of CPU across the two
 * threads against about 55 us per signature, plus two thread wake-ups of latency, which a broadcast pays at
 * every hop. At the rates a gossip network carries (hundreds of broadcasts a second) every check is this
 * small and the budget is never reached, so the pool costs what the main-thread verifier costs; under heavy
 * ingest the budget caps the work this thread takes on (its event loop stays responsive), full batches go to
 * the threads, and they carry the rest. (Before the budget, a small batch stayed here only while no task was
 * out, and at 500 broadcasts a second on 16 nodes a frame burst that made one task sent the next checks after
 * it: the pool's p99 was 8x the main-thread verifier's.)
 *
 * A lone broadcast check that would be verified here anyway (nothing queued, its lane with nothing
 * outstanding, the inline budget not spent) need not wait for the end of the turn at all: runDirect verifies
 * it before the caller's call returns, so the node relays and delivers it in the turn that read it, as with
 * the main-thread verifier, with no batch buffer, promise or verdict queue (verifier-core.ts tryVerifyNow).
 *
 * An inline executor (one that answers on this thread, or in the simulator's virtual time) gets every job at
 * once and the scheduler never sets a timer for it: real timers on that path would break the simulator.
 *
 * Jobs queue in lanes (a lane is whoever the work is for: the node gives each connection its own), and batches
 * are cut from the lanes by deficit round robin (lanes.ts): each lane in turn adds up to
 * `laneQuantumSignatures` signatures, its own jobs in order, and a job larger than that waits for the credit of
 * later turns. So the capacity is shared max-min fairly: a lane with a few checks has them in the next batch
 * however many another lane has queued, and a lane that queues more than its share waits for its own backlog
 * (its connection, holding its socket unread, is slowed by TCP). With one lane this is the plain FIFO.
 *
 * A broadcast check of a lane with nothing else queued or in flight (a peer that sends now and then) is
 * light: it goes ahead of the lanes with backlogs, as a new flow does in FQ-CoDel (RFC 8290, section 4.2),
 * verified at once on this thread while such checks are few (at most `inlineSignaturesMax`) and the inline
 * budget allows, else leading the next batch. Under a flood that keeps the threads busy a light peer's check
 * so waits neither for a batch slot behind the backlogs nor for a thread's round trip, both of which
 * stretch with how long this thread takes to come back to the threads' results (issue 16, item 3: hundreds
 * of ms for the relay-rate attack's probes). The lane's next check, sent before the first is answered, is
 * not light: one peer gets one light check per answer, so light checks stay few.
 *
 * Consensus checks (Dolev-Strong chains, validators' outcomes, catch-up statements) are a class of their own,
 * with lanes of their own, served before every broadcast lane: Dolev-Strong needs every honest chain checked
 * within its round, and a flood of valid broadcasts (each sender within its rate) must not delay that. At the
 * end of the turn they go first: on this thread when they are few and the inline budget allows (a chain
 * usually brings one signature not yet cached), else in a batch of their own to the next free thread, so they
 * never wait behind the broadcast lanes' backlog nor ride in a full batch of broadcasts. Bounded: while
 * broadcasts wait, consensus checks may take at most `consensusSharePercentMax` percent of the signatures
 * taken (beyond a burst of `consensusBurstSignatures`), so a Byzantine validator that floods chains cannot
 * starve the rest; past that they wait their turn. Honest consensus work, about n - 1 signatures per block,
 * stays far below it.
 */
import { StrongcastError } from '../errors.ts';
import type { SignatureCheck } from './verifier.ts';
import { ClassShare, LaneRing } from './lanes.ts';
import { itemBytes, itemResultSlots, itemSignatures, packBatch } from './packing.ts';
import { inFlightPerThread, poolError, systemFlushLater, type BatchExecutor, type BatchJob, type FlushLater, type FlushTimer, type SchedulerSettings } from './batch-executor.ts';
import { InlineBudget, inlineBatchBytesMax } from './inline-budget.ts';

/** A partial batch is not split into tasks smaller than this: below it, posting costs more than it saves. */
const splitSignaturesMin = 8;

/**
 * Which queued jobs a batch is cut from: consensus only, light lanes only, broadcasts only (light lanes
 * first), or any (consensus first within its share, then light lanes, then the rest).
 */
type Source = 'consensus' | 'light' | 'broadcast' | 'any';

/** Queues jobs, batches them for an executor, and accounts for the signatures pending. */
export class BatchScheduler {
  readonly #executor: BatchExecutor;
  readonly #settings: SchedulerSettings;
  /** Batches out at once before a full one has to wait: inFlightPerThread per thread. */
  readonly #inFlightMax: number;
  /** Consensus checks not yet dispatched, by lane: served before broadcasts. */
  readonly #consensus: LaneRing<BatchJob>;
  /**
   * Broadcast checks of light lanes (nothing else of theirs queued or in flight when they came), by lane:
   * served before the other broadcast lanes, on this thread when the inline budget allows.
   */
  readonly #light: LaneRing<BatchJob>;
  /** Every other job not yet dispatched, by lane. */
  readonly #broadcast: LaneRing<BatchJob>;
  /** Broadcast signatures queued or in flight, by lane (lanes with none are not kept). */
  readonly #outstanding = new Map<string, number>();
  /** How far consensus checks may go ahead of waiting broadcasts. */
  readonly #share: ClassShare;
  /** Signatures queued or in flight: what pendingChecksMax bounds. */
  #pendingSignatures = 0;
  #inFlight = 0;
  readonly #later: FlushLater;
  #timer: FlushTimer | null = null;
  #closing: Promise<void> | null = null;
  #batches = 0;
  #signaturesVerified = 0;
  #consensusSignatures = 0;
  #consensusHeldSignatures = 0;
  #refusedFull = 0;
  #signaturesHere = 0;
  /** Time this thread may still spend on small batches; null when it never verifies here. */
  readonly #inlineBudget: InlineBudget | null;
  /** The flush of a partial batch, made once so waiting for one allocates nothing. */
  readonly #flush = (): void => {
    this.#timer = null;
    this.#pump(true);
  };

  /** @param later how to wait for the flush of a partial batch (see FlushLater) */
  constructor(executor: BatchExecutor, settings: SchedulerSettings, later: FlushLater = systemFlushLater) {
    this.#executor = executor;
    this.#settings = settings;
    this.#later = later;
    this.#inFlightMax = executor.parallelism * inFlightPerThread;
    this.#consensus = new LaneRing(settings.laneQuantumSignatures);
    this.#light = new LaneRing(settings.laneQuantumSignatures);
    this.#broadcast = new LaneRing(settings.laneQuantumSignatures);
    this.#share = new ClassShare(settings.consensusSharePercentMax, settings.consensusBurstSignatures);
    const rate = settings.inlineMsPerSecMax;
    const runsHere = rate > 0 && settings.inlineSignaturesMax > 0 && executor.runHere !== undefined;
    this.#inlineBudget = runsHere ? new InlineBudget(rate, settings.now ?? (() => performance.now())) : null;
  }

  /** True once close() was called: admit() refuses from then on. */
  get closed(): boolean {
    return this.#closing !== null;
  }

  /** Signatures queued or in flight now. */
  get pendingSignatures(): number {
    return this.#pendingSignatures;
  }

  /** Batches the executor was given, plus the direct checks counted by countDirect(). */
  get batches(): number {
    return this.#batches;
  }

  /** Signatures the executor verified (batches that succeeded, and countDirect()). */
  get signaturesVerified(): number {
    return this.#signaturesVerified;
  }

  /** Of signaturesVerified, those of consensus checks (jobs marked consensus, and countDirect(n, true)). */
  get consensusSignatures(): number {
    return this.#consensusSignatures;
  }

  /** Broadcast signatures taken while consensus checks waited, having used their share (consensusSharePercentMax). */
  get consensusHeldSignatures(): number {
    return this.#consensusHeldSignatures;
  }

  /** Signatures of small batches verified on this thread instead of as a task (see inlineSignaturesMax). */
  get signaturesHere(): number {
    return this.#signaturesHere;
  }

  /** Calls admit() refused with ERR_POOL_FULL. */
  get refusedFull(): number {
    return this.#refusedFull;
  }

  /**
   * Checks that `signatures` more may be queued; call it before enqueueing them, in the same turn.
   * @throws StrongcastError ERR_POOL once closed; ERR_POOL_FULL when they would pass pendingChecksMax.
   */
  admit(signatures: number): void {
    if (this.#closing) throw new StrongcastError('ERR_POOL', 'the verification pool is closed');
    const { pendingChecksMax } = this.#settings;
    if (this.#pendingSignatures + signatures > pendingChecksMax) {
      this.#refusedFull++;
      throw new StrongcastError('ERR_POOL_FULL', `${this.#pendingSignatures} signatures pending, ${signatures} more would pass pendingChecksMax=${pendingChecksMax}`);
    }
  }

  /** Queues one job and dispatches what can go now. */
  enqueue(job: BatchJob): void {
    this.#push(job);
    this.#pump(false);
  }

  /** Queues several jobs, then dispatches once: an inline executor gets them in one batch, not one each. */
  enqueueAll(jobs: readonly BatchJob[]): void {
    for (const job of jobs) this.#push(job);
    this.#pump(false);
  }

  /**
   * Runs `verify(check)` (one broadcast signature of `lane`, `bytes` bytes as packed) on this thread now, before
   * the call returns, when the scheduler would verify it on this thread anyway and nothing it owes anyone
   * is passed over: no job of any lane or class is queued, `lane` has no check of its own outstanding (its
   * checks are answered in order), the check is within inlineBatchBytesMax and the inline budget is not
   * spent. Then it is counted as a batch of one verified here and its time charged to the inline budget,
   * and its verdict returned; otherwise nothing runs and it returns undefined (the caller queues the check).
   * This is the main-thread verifier's path for the checks the pool would verify here: a broadcast is
   * relayed in the turn that read it, with no batch buffer, promise or end-of-turn flush of its own: on 16
   * nodes at 500 broadcasts a second that path was the pool's 12% more CPU per delivery than the main-thread
   * verifier's, all of it on the node's thread (bench/RESULTS.md `gossip-pool-direct-2026-12-06`).
   * @throws StrongcastError ERR_POOL once closed; whatever `verify` throws
   */
  runDirect(lane: string, bytes: number, verify: (check: SignatureCheck) => boolean, check: SignatureCheck): boolean | undefined {
    if (this.#closing) throw new StrongcastError('ERR_POOL', 'the verification pool is closed');
    const budget = this.#inlineBudget;
    if (budget === null || this.#hasQueued || this.#outstanding.has(lane) || bytes > inlineBatchBytesMax) return undefined;
    if (!budget.left()) return undefined;
    const startedMs = budget.now();
    this.#batches++;
    let ok: boolean;
    try {
      ok = verify(check);
    } finally {
      budget.charge(startedMs);
    }
    this.#signaturesHere++;
    this.#signaturesVerified++;
    return ok;
  }

  /** Counts `signatures` the executor checked directly (its verifyOne) as one batch, never queued. */
  countDirect(signatures: number, consensus = false): void {
    this.#signaturesVerified += signatures;
    if (consensus) this.#consensusSignatures += signatures;
    this.#batches++;
  }

  /**
   * Fails every queued job with ERR_POOL and closes the executor; safe to call twice. Batches in flight
   * still deliver their results, or fail with ERR_POOL when the executor's close ends them.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#timer?.cancel();
    this.#timer = null;
    const closed = new StrongcastError('ERR_POOL', 'the verification pool was closed before this check ran');
    const waiting = [...this.#consensus.drain(), ...this.#light.drain(), ...this.#broadcast.drain()];
    this.#settled(waiting);
    for (const job of waiting) {
      this.#pendingSignatures -= itemSignatures(job.item);
      job.onError(closed);
    }
    this.#closing = this.#executor.close();
    return this.#closing;
  }

  /** Signatures queued now (not yet dispatched). */
  get #queuedSignatures(): number {
    return this.#consensus.signatures + this.#light.signatures + this.#broadcast.signatures;
  }

  /** Jobs queued now (not yet dispatched). */
  get #hasQueued(): boolean {
    return !this.#consensus.empty || !this.#light.empty || !this.#broadcast.empty;
  }

  /** Broadcast checks queued, light lanes' and the others'. */
  get #broadcastEmpty(): boolean {
    return this.#light.empty && this.#broadcast.empty;
  }

  /**
   * Queues a job in its lane: a consensus check with the consensus lanes; a broadcast check of a lane with
   * nothing else queued or in flight (a peer that sends now and then), while other lanes' checks are queued,
   * with the light lanes, served first; any other with the rest. So one check of a light peer does not wait
   * for a batch slot behind the lanes with backlogs, nor for a thread's round trip when this thread may
   * verify it (issue 16, item 3). An inline executor has no threads to wait for: its jobs are never light.
   */
  #push(job: BatchJob): void {
    const lane = job.lane ?? '';
    const n = itemSignatures(job.item);
    this.#pendingSignatures += n;
    if (job.consensus === true) return this.#consensus.push(lane, job);
    const outstanding = this.#outstanding.get(lane) ?? 0;
    const light = outstanding === 0 && !this.#executor.inline && !this.#broadcastEmpty;
    this.#outstanding.set(lane, outstanding + n);
    (light ? this.#light : this.#broadcast).push(lane, job);
  }

  /** `jobs` left the scheduler (answered, failed or dropped): their lanes' broadcast signatures are no longer outstanding. */
  #settled(jobs: readonly BatchJob[]): void {
    for (const job of jobs) {
      if (job.consensus === true) continue;
      const lane = job.lane ?? '';
      const left = (this.#outstanding.get(lane) ?? 0) - itemSignatures(job.item);
      if (left > 0) this.#outstanding.set(lane, left);
      else this.#outstanding.delete(lane);
    }
  }

  /** Whether the next job taken is a consensus check: one is queued, and no broadcast waits or it has share left. */
  get #consensusFirst(): boolean {
    return !this.#consensus.empty && (this.#broadcastEmpty || this.#share.allows);
  }

  /** Dispatches what the load allows; `waited` is true once the jobs had their turn (or batchWaitMs) to gather. */
  #pump(waited: boolean): void {
    const { batchMax } = this.#settings;
    const executor = this.#executor;
    // At most one batch on this thread per pump: one turn never runs several back to back.
    let ranHere = false;
    while (this.#hasQueued) {
      if (executor.inline) this.#dispatch(batchMax, 'any');
      else if (waited && this.#consensusFirst) {
        // Consensus first, at the end of the turn: here if small and the budget allows, else the next free thread.
        if (!ranHere && this.#mayRunHere('consensus')) ranHere = this.#runHere('consensus');
        else if (this.#inFlight < this.#inFlightMax) this.#dispatch(batchMax, 'consensus');
        else break;
      } else if (!this.#light.empty && !this.#broadcast.empty && !ranHere && this.#mayRunHere('light')) {
        // Light lanes' checks with a backlog of other lanes queued: at once, on this thread while they are few and
        // the budget allows, so they wait for no batch slot behind the backlog and no thread's round trip.
        ranHere = this.#runHere('light');
      } else if (waited && !this.#light.empty && !this.#broadcast.empty) {
        // Else they lead the next batch a thread takes.
        if (this.#inFlight < this.#inFlightMax) this.#dispatch(batchMax, 'any');
        else break;
      } else if (this.#light.signatures + this.#broadcast.signatures >= batchMax && this.#inFlight < this.#inFlightMax) this.#dispatch(batchMax, 'broadcast');
      else if (waited && !ranHere && this.#mayRunHere('any')) ranHere = this.#runHere('any');
      else if (waited && this.#inFlight < executor.parallelism) {
        const idle = executor.parallelism - this.#inFlight;
        this.#dispatch(Math.min(batchMax, Math.max(splitSignaturesMin, Math.ceil(this.#queuedSignatures / idle))), 'any');
      } else break;
    }
    if (this.#hasQueued && this.#timer === null && !waited) this.#timer = this.#later(this.#flush, this.#settings.batchWaitMs);
  }

  /** Takes up to `signaturesTarget` signatures (at least one job) from `from` and runs them as one batch. */
  #dispatch(signaturesTarget: number, from: Source): void {
    const jobs: BatchJob[] = [];
    const signatures = this.#take(signaturesTarget, jobs, from);
    this.#inFlight++;
    this.#batches++;
    this.#executor.run(packBatch(jobs.map((j) => j.item))).then(
      (results) => this.#delivered(jobs, signatures, results),
      (e: unknown) => this.#failed(jobs, signatures, e),
    );
  }

  /**
   * Whether what `from` holds (everything queued, for 'any') is small enough to verify here, and this
   * thread's budget for it is not spent.
   */
  #mayRunHere(from: Source): boolean {
    const budget = this.#inlineBudget;
    const only = from === 'consensus' ? this.#consensus : from === 'light' ? this.#light : null;
    const signatures = only ? only.signatures : this.#queuedSignatures;
    if (budget === null || signatures > this.#settings.inlineSignaturesMax) return false;
    // At most inlineSignaturesMax jobs are walked here (each has a signature at least).
    const bytes = only ? only.bytes() : this.#consensus.bytes() + this.#light.bytes() + this.#broadcast.bytes();
    return bytes <= inlineBatchBytesMax && budget.left();
  }

  /**
   * Verifies what `from` holds (at most inlineSignaturesMax signatures) on this thread and answers the jobs
   * before it returns; counted as a batch, and as signatures verified here. The time it took is charged to
   * the inline budget (which may go into debt by one batch: nothing runs here again until it is repaid).
   */
  #runHere(from: Source): true {
    const jobs: BatchJob[] = [];
    const signatures = this.#take(Number.MAX_SAFE_INTEGER, jobs, from);
    this.#batches++;
    let results: Uint8Array;
    const budget = this.#inlineBudget!;
    const startedMs = budget.now();
    try {
      results = this.#executor.runHere!(packBatch(jobs.map((j) => j.item)));
    } catch (e) {
      budget.charge(startedMs);
      this.#settled(jobs);
      this.#pendingSignatures -= signatures;
      const error = poolError(e);
      for (const job of jobs) job.onError(error);
      return true;
    }
    budget.charge(startedMs);
    this.#signaturesHere += signatures;
    this.#verified(jobs, signatures);
    this.#answer(jobs, results);
    return true;
  }

  /**
   * Moves jobs from `from` into `jobs` within the batch limits and returns their signatures: each lane ring by
   * deficit round robin; for 'any', a consensus job whenever one may go first. A lane whose next job does
   * not fit the batch keeps its turn and credit for the next batch.
   */
  #take(signaturesTarget: number, jobs: BatchJob[], from: Source): number {
    const { batchBytesMax } = this.#settings;
    let signatures = 0;
    let bytes = 0;
    for (;;) {
      const ring = this.#ringFor(from);
      if (ring === null) return signatures;
      const job = ring.peek();
      const n = itemSignatures(job.item);
      const b = itemBytes(job.item);
      if (jobs.length > 0 && (signatures + n > signaturesTarget || bytes + b > batchBytesMax)) return signatures;
      // Consensus going ahead of waiting broadcasts spends its share; broadcasts taken earn it back.
      if (ring === this.#consensus) {
        if (!this.#broadcastEmpty) this.#share.spend(n);
      } else {
        if (!this.#consensus.empty && !this.#share.allows) this.#consensusHeldSignatures += n;
        this.#share.earn(n);
      }
      jobs.push(ring.take());
      signatures += n;
      bytes += b;
    }
  }

  /** The ring the next job of `from` comes from; null when it has none (or, for consensus, no share left). */
  #ringFor(from: Source): LaneRing<BatchJob> | null {
    if (from === 'consensus' || from === 'any') {
      if (this.#consensusFirst) return this.#consensus;
      // Not first, consensus checks have nothing queued or wait behind broadcasts for their share.
      if (from === 'consensus') return null;
    }
    // A lane's light check is older than any other check of it: taken first, the lane's order is kept.
    if (!this.#light.empty) return this.#light;
    if (from === 'light' || this.#broadcast.empty) return null;
    return this.#broadcast;
  }

  #delivered(jobs: readonly BatchJob[], signatures: number, results: Uint8Array): void {
    this.#inFlight--;
    this.#verified(jobs, signatures);
    this.#answer(jobs, results);
    if (!this.#closing) this.#pump(true);
  }

  /** Accounts for `jobs` (`signatures` in all) verified: no longer pending, counted by class. */
  #verified(jobs: readonly BatchJob[], signatures: number): void {
    this.#settled(jobs);
    this.#pendingSignatures -= signatures;
    this.#signaturesVerified += signatures;
    for (const job of jobs) if (job.consensus === true) this.#consensusSignatures += itemSignatures(job.item);
  }

  /** Hands each job its result slots, in order. */
  #answer(jobs: readonly BatchJob[], results: Uint8Array): void {
    let at = 0;
    for (const job of jobs) {
      const slots = itemResultSlots(job.item);
      job.onResult(results.subarray(at, at + slots));
      at += slots;
    }
  }

  #failed(jobs: readonly BatchJob[], signatures: number, e: unknown): void {
    this.#inFlight--;
    this.#settled(jobs);
    this.#pendingSignatures -= signatures;
    const error = this.#closing ? new StrongcastError('ERR_POOL', 'the verification pool was closed while this check ran', { cause: e }) : poolError(e);
    for (const job of jobs) job.onError(error);
    if (!this.#closing) this.#pump(true);
  }
}
