/**
 * The informer's store: objects by key (`namespace/name`, or `name` when cluster-scoped), plus
 * optional secondary indexes. Pure (no I/O), so relist diffing is tested on its own.
 */

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string | Date;
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** The cache key: `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

/** Inverse of objectKey. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export type IndexFunc<T> = (obj: T) => readonly string[];

export class IndexedCache<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  get size(): number {
    return this.items.size;
  }
  get(key: string): T | undefined {
    return this.items.get(key);
  }
  has(key: string): boolean {
    return this.items.has(key);
  }
  list(): T[] {
    return [...this.items.values()];
  }
  keys(): string[] {
    return [...this.items.keys()];
  }

  /** Register a secondary index; existing objects are indexed at once. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexers.has(name)) throw new Error(`index ${name} already exists`);
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
    for (const [key, obj] of this.items) this.indexOne(name, fn, key, obj);
  }

  /** Objects whose index `name` yields `value`. */
  byIndex(name: string, value: string): T[] {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`no index ${name}`);
    const keys = idx.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Insert or replace; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) this.indexOne(name, fn, key, obj);
    return old;
  }

  /** Remove; returns the removed object. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  private indexOne(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
    const idx = this.indices.get(name);
    if (!idx) return;
    for (const v of fn(obj)) {
      let s = idx.get(v);
      if (!s) {
        s = new Set();
        idx.set(v, s);
      }
      s.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name);
      if (!idx) continue;
      for (const v of fn(obj)) {
        const s = idx.get(v);
        if (!s) continue;
        s.delete(key);
        if (s.size === 0) idx.delete(v);
      }
    }
  }
}

export interface RelistDiff<T> {
  added: T[];
  /** [previous, current] */
  updated: Array<[T, T]>;
  /** The last known state of objects that disappeared while we were not watching. */
  deleted: T[];
  unchanged: number;
}

/**
 * Compare a fresh list with the cache. An object whose resourceVersion is unchanged is the same
 * object (resourceVersion changes on every write), so only real changes become events, and
 * objects missing from the list were deleted during the gap: deliver those deletes.
 * A UID change under the same key (deleted and re-created during the gap) is a delete + add.
 */
export function diffRelist<T extends KubeObject>(
  cache: { get(key: string): T | undefined; keys(): string[] },
  items: readonly T[],
): RelistDiff<T> {
  const out: RelistDiff<T> = { added: [], updated: [], deleted: [], unchanged: 0 };
  const seen = new Set<string>();
  for (const obj of items) {
    const key = objectKey(obj);
    seen.add(key);
    const old = cache.get(key);
    if (!old) out.added.push(obj);
    else if (old.metadata?.uid && obj.metadata?.uid && old.metadata.uid !== obj.metadata.uid) {
      out.deleted.push(old);
      out.added.push(obj);
    } else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) out.updated.push([old, obj]);
    else out.unchanged++;
  }
  for (const key of cache.keys()) {
    if (!seen.has(key)) {
      const old = cache.get(key);
      if (old) out.deleted.push(old);
    }
  }
  return out;
}
