/**
 * A lower bound on the consensus benchmark's round length from signature checks alone (issue 18: the
 * smallest working round length for n validators with every validator mining every round).
 */

/**
 * The least round length at which signature checks alone fit in one round when every validator mines every
 * round: n blocks a round, each checked by n validators, each check `checksPerNodePerBlock` signatures of
 * `verifyUs` (the chain signatures of the in-memory row of this n; the signed outcomes left out, so it stays
 * a floor), spread over every core at 100%. A round
 * length below it cannot hold synchrony with all-mine rounds on this machine, whatever the code around them.
 */
export function verificationFloorMs(n: number, checksPerNodePerBlock: number, verifyUs: number, cores: number): number {
  return (n * n * checksPerNodePerBlock * verifyUs) / 1000 / cores;
}
