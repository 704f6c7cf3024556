/**
 * Work counted instead of time measured: a unit test that checks an algorithm's cost (linear in the input,
 * amortised constant per call) bounds the elements it touches, which a loaded machine cannot change. Speed
 * goals in milliseconds belong to the benchmarks (bench/).
 *
 * `countWork` runs a synchronous function with the built-in bulk operations counting the elements they touch:
 * bytes copied by typed-array `set`, elements of arrays copied, searched, sorted or moved (slice, splice,
 * shift, unshift, concat, sort, indexOf, includes, find, findIndex, filter), and steps of Map and Set
 * iteration. It misses plain loops over arrays by index; the bounds it serves are meant to catch a cost that
 * grows with the size of a structure per call (a sort, a copy or a scan per insert), far above them.
 */

interface Patch {
  target: object;
  key: PropertyKey;
  original: unknown;
}

/** Elements touched by `fn`, and what it returned. Not reentrant; restores every built-in before it returns. */
export function countWork<T>(fn: () => T): { result: T; work: number } {
  let work = 0;
  const patches: Patch[] = [];
  const patch = (target: object, key: PropertyKey, make: (original: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown): void => {
    const original = (target as Record<PropertyKey, unknown>)[key] as (...a: unknown[]) => unknown;
    patches.push({ target, key, original });
    Object.defineProperty(target, key, { value: make(original), writable: true, configurable: true, enumerable: false });
  };
  const counted = <I>(it: Iterator<I>): IterableIterator<I> => ({
    next() {
      const r = it.next();
      if (!r.done) work++;
      return r;
    },
    [Symbol.iterator]() {
      return this;
    },
  });

  const typedArray = Object.getPrototypeOf(Uint8Array.prototype) as object;
  patch(typedArray, 'set', (set) =>
    function (this: unknown, ...a: unknown[]) {
      work += (a[0] as ArrayLike<unknown>).length ?? 0;
      return set.apply(this, a);
    },
  );
  // the array's length before the call: what a copy, a search, a sort or a move costs at most
  for (const key of ['slice', 'splice', 'shift', 'unshift', 'concat', 'sort', 'indexOf', 'includes', 'find', 'findIndex', 'filter'] as const) {
    patch(Array.prototype, key, (original) =>
      function (this: unknown[], ...a: unknown[]) {
        work += this.length;
        return original.apply(this, a);
      },
    );
  }
  for (const proto of [Map.prototype, Set.prototype]) {
    for (const key of ['entries', 'keys', 'values', Symbol.iterator] as const) {
      patch(proto, key, (original) =>
        function (this: unknown, ...a: unknown[]) {
          return counted(original.apply(this, a) as Iterator<unknown>);
        },
      );
    }
    patch(proto, 'forEach', (original) =>
      function (this: Map<unknown, unknown> | Set<unknown>, ...a: unknown[]) {
        work += this.size;
        return original.apply(this, a);
      },
    );
  }
  try {
    const result = fn();
    return { result, work };
  } finally {
    for (const p of patches.reverse()) Object.defineProperty(p.target, p.key, { value: p.original, writable: true, configurable: true, enumerable: false });
  }
}
