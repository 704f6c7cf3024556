/** Help texts of the CLI: `strongcast --help`, `strongcast init --help`, `strongcast testnet --help`. */
import { measuredRoundMs, roundMarginFactor, roundMsFloor } from './round-default.ts';
import { eventWriterDefaults } from './event-writer.ts';
import { logWriterDefaults } from './log-writer.ts';

/** "measured: 25 ms for 4 validators, ..." from the default rule's measured basis. */
const measuredText = `measured: ${measuredRoundMs.map((m) => `${m.roundMs} ms for ${m.validators}`).join(', ')}`;
/** The largest n of the measured basis. */
const measuredTop = measuredRoundMs[measuredRoundMs.length - 1]?.validators;

export const runHelp = `strongcast: a peer-to-peer node with gossip broadcast and Dolev-Strong consensus

Usage:
  strongcast                                   interactive start: asks for port, peers (or a validator), then a console
  strongcast --port N [flags]                  run a node headless (console commands read from stdin)
  strongcast --genesis FILE --key FILE [flags] run validator i of a genesis (port and peers default from genesis)
  strongcast --genesis FILE [flags]            run an observer: follows, checks and carries consensus, no key of the genesis
  strongcast init --nodes N --out DIR [...]    write DIR/genesis.json and DIR/node-<i>.key
  strongcast testnet --nodes N [...]           run a local network of N validators (see --help after testnet)

Flags:
  --port N             TCP port to listen on (1..65535; 0 = any free port)
  --host H             address to listen on, and to dial from when it is one address (default 0.0.0.0)
  --advertise H        host to announce to peers (default: the address peers see)
  --peers H:P,H:P      peers to dial at start and keep reconnecting to
  --json               print every event as one JSON object per line on stdout
  --network ID         network id (default strongcast-dev; with --genesis: the genesis network id)
  --key FILE           node key file (default: a fresh key for this run)
  --genesis FILE       genesis file: run as a validator of that network (with --key) or an observer (without)
  --data DIR           keep the key, known peers and decided chain in DIR
  --max-peers N        most open connections (default 32)
  --target-peers N     connections to keep through peer exchange (default 8)
  --outbound-slots-min N  of the --max-peers slots, those only our own dials may use (default 8, or a
                       quarter of --max-peers when less)
  --ip-limits-on-loopback  per-IP and per-group limits and IP bans for 127.x and ::1 peers too (off: many
                       nodes of a test or testnet share one machine; for attack tests on one machine)
  --frame-bytes-max N  largest frame accepted, in bytes (default 1048576)
  --threads N          signature verification worker threads (default: CPU count)
  --backend NAME       signature backend: sodium, native or noble (default sodium, or native
                       where the sodium addon cannot load); all accept the same signatures
  --gossip-mode MODE   tree (eager tree links, ids to the others) or flood (default tree)
  --clock-skew-ms-max MS  validators: largest clock difference to another validator; a chain up to
                       this early is counted in round 1 (default: a quarter of the genesis round length)
  --stall-ms-max MS    validators: a stall of this process longer than MS, or a chain check that ran past
                       its round and longer than MS, puts it out of synchrony: it catches up from f+1
                       validators (default: half the genesis round length)
  --log-level L        debug, info, warn, error or silent (logs go to stderr; default info, or warn
                       where the console prints events as text at a terminal)
  --log-format F       text or json: one JSON object per log line (default text at a terminal, else json)
  --metrics [HOST:]PORT  serve Prometheus metrics on /metrics and a health check on /health
                       (a bare port listens on 127.0.0.1; default off)
  --output-bytes-max N  most bytes of events held for a slow reader of stdout; past it events are
                       dropped and one output-dropped event says how many (default ${eventWriterDefaults.outputBytesMax})
  --log-bytes-max N    most bytes of log lines held for a slow reader of stderr; past it lines are
                       dropped and one 'log lines dropped' line says how many (default ${logWriterDefaults.logBytesMax})
  --config FILE        JSON object of flag values, keys are the long flag names ("max-peers": 16);
                       flags on the command line override it
  -h, --help           show this help

A flag may be given once; --peers may repeat (the lists are joined).

Console commands: help, id, peers, connect HOST:PORT, broadcast TEXT, stats, isolate MS, quit;
validators and observers also: mine [TEXT], chain, status
`;

export const initHelp = `strongcast init: write a genesis and one key per validator

Usage:
  strongcast init --nodes N --out DIR [--faults F] [--round-ms MS] [--base-port P] [--host H] [--network ID] [--start-ms T]
                  [--clock-skew-ms-max MS] [--delay-ms-max MS]

  --nodes N       number of validators (1..1024)
  --out DIR       directory for genesis.json and node-<i>.key (created if missing)
  --faults F      tolerated Byzantine validators, 0 <= F < N (default floor((N-1)/3)); k = F+1 rounds
  --round-ms MS   round length in ms (default: by N, below)
  --base-port P   validator i listens on P+i (default 7001)
  --host H        validators' host (default 127.0.0.1)
  --network ID    network id (default strongcast-<random>)
  --start-ms T    genesis start time in ms since the epoch (default: now)
  --clock-skew-ms-max MS  largest clock difference between two validators (default 50)
  --delay-ms-max MS       delivery bound: network delay over every hop plus verification (default 100)

  The round length must satisfy the timing rule Δ/4 + skew + delay < Δ (and skew <= Δ/4); init refuses one
  that does not, naming the smallest that does. Without --round-ms, init takes the largest of ${roundMsFloor} ms, the
  timing rule's smallest, and ${roundMarginFactor} x the round length measured to stay correct for N validators when
  every one mines in every round (${measuredText};
  with N^2 beyond ${measuredTop}), and prints its choice.
`;

export const testnetHelp = `strongcast testnet: run a local validator network with a live view

Usage:
  strongcast testnet [--nodes N] [--faults F] [--round-ms MS] [--dir DIR] [--base-port P] [--json]

  --nodes N       validators to start (default 4; must match DIR's genesis when DIR already has one)
  --faults F      tolerated Byzantine validators for a new network (default floor((N-1)/3))
  --round-ms MS   round length for a new network (default: init's for N, but with N^3 beyond ${measuredTop}
                  validators, since all of them share this machine's cores)
  --dir DIR       keys, genesis, data and logs (default .testnet); reused when it already has a genesis
  --base-port P   validator i listens on P+i for a new network (default 7001)
  --json          no live view: every node event as a JSON line with "node": I; stdin takes "I COMMAND" and "quit"

Keys in the live view: 0-9 or up/down select a node, b broadcast (type the text, Enter sends), m mine,
q or Ctrl-C quit.
Each node's log is DIR/node-I.log. Stopping the testnet stops every process it started.
`;
