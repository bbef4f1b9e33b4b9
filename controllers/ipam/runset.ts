// A set of integers stored as maximal runs [s, e] of consecutive members, kept in an AVL tree keyed
// by s. Members are the used address indexes of one pool family; free space is implicit (the gaps),
// so a /64 with three IPs in use costs three nodes at most, and lowest-first allocation keeps the
// used part of a pool as one run. Every operation is O(log r) for r runs (r <= members).
//
// Invariant: runs are disjoint and never adjacent (e + 1 < next.s), so the lowest free index at or
// after `base` is either `base` (first run starts later) or first.e + 1.
//
// K is number (indexes below 2^53: every IPv4 pool, and the low part of any IPv6 pool, i.e. the part
// that lowest-first allocation ever reaches) or bigint (indexes from 2^53 up, only reached by
// requested or restored IPs in huge IPv6 pools). Keeping numbers on the hot path keeps IPv6 as fast
// as IPv4; the same code runs on both because <, ===, + work on either as long as they are not mixed.

interface Node<K> {
  s: K;
  e: K;
  left: Node<K> | null;
  right: Node<K> | null;
  height: number;
}

function h<K>(n: Node<K> | null): number {
  return n === null ? 0 : n.height;
}

function fix<K>(n: Node<K>): void {
  const a = h(n.left);
  const b = h(n.right);
  n.height = (a > b ? a : b) + 1;
}

function rotateRight<K>(n: Node<K>): Node<K> {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  fix(n);
  fix(l);
  return l;
}

function rotateLeft<K>(n: Node<K>): Node<K> {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  fix(n);
  fix(r);
  return r;
}

function balance<K>(n: Node<K>): Node<K> {
  fix(n);
  const bf = h(n.left) - h(n.right);
  if (bf > 1) {
    if (h(n.left!.left) < h(n.left!.right)) n.left = rotateLeft(n.left!);
    return rotateRight(n);
  }
  if (bf < -1) {
    if (h(n.right!.right) < h(n.right!.left)) n.right = rotateRight(n.right!);
    return rotateLeft(n);
  }
  return n;
}

export interface Run<K> {
  readonly s: K;
  readonly e: K;
}

export class RunSet<K extends number | bigint> {
  private root: Node<K> | null = null;
  private runs = 0;
  private readonly one: K;

  constructor(one: K) {
    this.one = one;
  }

  private plus(a: K, b: K): K {
    return ((a as number) + (b as number)) as K;
  }

  private minus(a: K, b: K): K {
    return ((a as number) - (b as number)) as K;
  }

  /** Number of runs (not members). */
  get runCount(): number {
    return this.runs;
  }

  /** The run with the largest start <= x, or null. */
  private floor(x: K): Node<K> | null {
    let n = this.root;
    let best: Node<K> | null = null;
    while (n !== null) {
      if (n.s <= x) {
        best = n;
        n = n.right;
      } else {
        n = n.left;
      }
    }
    return best;
  }

  /** The run with the smallest start > x, or null. */
  private higher(x: K): Node<K> | null {
    let n = this.root;
    let best: Node<K> | null = null;
    while (n !== null) {
      if (n.s > x) {
        best = n;
        n = n.left;
      } else {
        n = n.right;
      }
    }
    return best;
  }

  private first(): Node<K> | null {
    let n = this.root;
    if (n === null) return null;
    while (n.left !== null) n = n.left;
    return n;
  }

  has(x: K): boolean {
    const f = this.floor(x);
    return f !== null && x <= f.e;
  }

  /** The lowest non-member >= base, for a set whose members are all >= base. */
  firstGap(base: K): K {
    const f = this.first();
    if (f === null || f.s > base) return base;
    // Runs are maximal, so the end of the first run is followed by a gap.
    return this.plus(f.e, this.one);
  }

  /** Add x; false when it was already a member. */
  add(x: K): boolean {
    const p = this.floor(x);
    if (p !== null && x <= p.e) return false;
    const q = p === null ? this.first() : this.higher(x);
    const joinsLeft = p !== null && this.plus(p.e, this.one) === x;
    const joinsRight = q !== null && this.plus(x, this.one) === q.s;
    if (joinsLeft && joinsRight) {
      const end = q!.e;
      this.root = this.removeKey(this.root, q!.s);
      this.runs--;
      p!.e = end;
    } else if (joinsLeft) {
      p!.e = x;
    } else if (joinsRight) {
      // Lowering q's start keeps the tree order: x is above p's end.
      q!.s = x;
    } else {
      this.root = this.insert(this.root, x, x);
      this.runs++;
    }
    return true;
  }

  /** Remove x; false when it was not a member. */
  delete(x: K): boolean {
    const p = this.floor(x);
    if (p === null || x > p.e) return false;
    if (p.s === p.e) {
      this.root = this.removeKey(this.root, p.s);
      this.runs--;
    } else if (x === p.s) {
      p.s = this.plus(x, this.one);
    } else if (x === p.e) {
      p.e = this.minus(x, this.one);
    } else {
      const end = p.e;
      p.e = this.minus(x, this.one);
      this.root = this.insert(this.root, this.plus(x, this.one), end);
      this.runs++;
    }
    return true;
  }

  /** Runs in order (for tests and snapshots). */
  toArray(): Run<K>[] {
    const out: Run<K>[] = [];
    const walk = (n: Node<K> | null): void => {
      if (n === null) return;
      walk(n.left);
      out.push({ s: n.s, e: n.e });
      walk(n.right);
    };
    walk(this.root);
    return out;
  }

  /** Tree height, exposed so tests can check the balance bound. */
  get height(): number {
    return h(this.root);
  }

  clear(): void {
    this.root = null;
    this.runs = 0;
  }

  private insert(n: Node<K> | null, s: K, e: K): Node<K> {
    if (n === null) return { s, e, left: null, right: null, height: 1 };
    if (s < n.s) n.left = this.insert(n.left, s, e);
    else n.right = this.insert(n.right, s, e);
    return balance(n);
  }

  private removeKey(n: Node<K> | null, s: K): Node<K> | null {
    if (n === null) return null;
    if (s < n.s) n.left = this.removeKey(n.left, s);
    else if (s > n.s) n.right = this.removeKey(n.right, s);
    else {
      if (n.left === null) return n.right;
      if (n.right === null) return n.left;
      // Replace with the successor's run, then remove the successor from the right subtree.
      let m = n.right;
      while (m.left !== null) m = m.left;
      n.s = m.s;
      n.e = m.e;
      n.right = this.removeKey(n.right, m.s);
    }
    return balance(n);
  }
}
