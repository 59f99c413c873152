// An open-addressing hash set of fixed-width keys stored in one typed array, for the uniqueness check (execution layer).
//
// A key is `words` 32-bit words. Keys live contiguously in a Uint32Array, so adding a key never
// allocates a JS object; memory is about 8·words bytes per entry at the maximum load factor.

const EMPTY_CAPACITY = 1024;

export class KeySet {
  readonly words: number;
  #capacity = EMPTY_CAPACITY;
  #keys: Uint32Array;
  #used: Uint8Array;
  #size = 0;

  constructor(words: number) {
    if (!Number.isInteger(words) || words < 1) throw new RangeError(`bad key width ${words}`);
    this.words = words;
    this.#keys = new Uint32Array(this.#capacity * words);
    this.#used = new Uint8Array(this.#capacity);
  }

  /** Number of distinct keys held. */
  get size(): number {
    return this.#size;
  }

  /** Adds the key `src[at .. at + words)`; returns false when it was already present. */
  add(src: Uint32Array, at: number): boolean {
    if ((this.#size + 1) * 5 > this.#capacity * 3) this.#grow();
    const w = this.words;
    const keys = this.#keys;
    const used = this.#used;
    const mask = this.#capacity - 1;
    let slot = hashWords(src, at, w) & mask;
    for (;;) {
      if (used[slot] === 0) {
        used[slot] = 1;
        const base = slot * w;
        for (let k = 0; k < w; k++) keys[base + k] = src[at + k]!;
        this.#size++;
        return true;
      }
      const base = slot * w;
      let same = true;
      for (let k = 0; k < w; k++) {
        if (keys[base + k] !== src[at + k]) {
          same = false;
          break;
        }
      }
      if (same) return false;
      slot = (slot + 1) & mask;
    }
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldUsed = this.#used;
    const oldCapacity = this.#capacity;
    this.#capacity = oldCapacity * 2;
    this.#keys = new Uint32Array(this.#capacity * this.words);
    this.#used = new Uint8Array(this.#capacity);
    this.#size = 0;
    for (let s = 0; s < oldCapacity; s++) {
      if (oldUsed[s] === 1) this.add(oldKeys, s * this.words);
    }
  }
}

function hashWords(src: Uint32Array, at: number, words: number): number {
  let h = 0x811c9dc5 ^ words;
  for (let k = 0; k < words; k++) {
    h = Math.imul(h ^ src[at + k]!, 0x9e3779b1);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
