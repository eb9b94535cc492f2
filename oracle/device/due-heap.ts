// The simulator's pacing queue: which device is due next on the simulated clock.

/**
 * Binary min-heap of device indices keyed by due time (typed arrays: 12 bytes per device).
 *
 * @example
 * ```ts
 * const heap = new DueHeap(3);
 * heap.push(0, 30); heap.push(1, 10); heap.push(2, 20);
 * heap.pop(); // { index: 1, due: 10 }
 * heap.peekDue(); // 20
 * ```
 */
export class DueHeap {
  readonly #heap: Int32Array;
  readonly #due: Float64Array;
  #size = 0;
  constructor(capacity: number) {
    this.#heap = new Int32Array(capacity);
    this.#due = new Float64Array(capacity);
  }
  get size(): number {
    return this.#size;
  }
  peekDue(): number {
    return this.#size === 0 ? Infinity : this.#due[this.#heap[0]!]!;
  }
  push(index: number, due: number): void {
    this.#due[index] = due;
    let i = this.#size++;
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#due[heap[parent]!]! <= due) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = index;
  }
  pop(): { index: number; due: number } {
    const heap = this.#heap;
    const top = heap[0]!;
    const due = this.#due[top]!;
    const last = heap[--this.#size]!;
    const lastDue = this.#due[last]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.#size) break;
      const r = l + 1;
      const c = r < this.#size && this.#due[heap[r]!]! < this.#due[heap[l]!]! ? r : l;
      if (this.#due[heap[c]!]! >= lastDue) break;
      heap[i] = heap[c]!;
      i = c;
    }
    if (this.#size > 0) heap[i] = last;
    return { index: top, due };
  }
}
