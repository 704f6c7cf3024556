/**
 * A fault for tests of the CLI's fatal-error path, preloaded with `node --import`: on SIGUSR2 the process
 * throws an exception nobody catches (STRONGCAST_TEST_FAIL=exception) or rejects a promise nobody handles
 * (STRONGCAST_TEST_FAIL=rejection), as a bug in an event handler would. Not part of the node: only tests
 * load it, and it does nothing when the variable is unset.
 */
const mode = process.env.STRONGCAST_TEST_FAIL;
if (mode === 'exception' || mode === 'rejection') {
  process.on('SIGUSR2', () => {
    const e = new Error(`test fault: an uncaught ${mode} from SIGUSR2`);
    if (mode === 'exception') throw e;
    void Promise.reject(e);
  });
}
