import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { FingerpostError } from '../core/errors.ts';
import { type BlobStore, blobIdInSteps } from './blobs.ts';

const ID_RE = /^[0-9a-f]{64}$/;
/** User metadata (`x-amz-meta-written`) holding the last store time in ms; LastModified has whole seconds only. */
const WRITTEN = 'written';

/** Where the S3 store keeps blobs (`store.s3` in docs/configuration.md). */
export interface S3BlobOptions {
  /** `http(s)://host:port` of an S3-compatible server; empty: AWS itself, by region. */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /** Prepended to every object key (`blobs/` by default). */
  readonly prefix: string;
  /** Empty: the SDK's own chain (AWS_ACCESS_KEY_ID…, instance roles). */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** `http://host/bucket/key` rather than `http://bucket.host/key` (most self-hosted servers need it). */
  readonly pathStyle: boolean;
}

function checkId(id: string): string {
  if (!ID_RE.test(id)) throw new FingerpostError('invalid_argument', 'malformed blob id');
  return id;
}

function isMissing(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
}

function failure(what: string, err: unknown): FingerpostError {
  const status = err instanceof S3ServiceException ? ` (${err.name}, HTTP ${err.$metadata?.httpStatusCode ?? '?'})` : '';
  return new FingerpostError('store_failure', `S3 ${what} failed${status}`, { cause: err });
}

/**
 * Content-addressed blobs as objects of one bucket on an S3-compatible server, so every node reads
 * what any node wrote. A PUT is acknowledged once the server holds the object durably; Content-MD5
 * lets the server refuse bytes damaged on the way. Storing the same bytes twice stores one object.
 */
export class S3BlobStore implements BlobStore {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(o: S3BlobOptions) {
    this.#bucket = o.bucket;
    this.#prefix = o.prefix;
    this.#s3 = new S3Client({
      region: o.region || 'us-east-1',
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.pathStyle,
      ...(o.accessKeyId ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } } : {}),
      // Checksums only where S3 demands them: many S3-compatible servers refuse the newer
      // x-amz-checksum/aws-chunked uploads; integrity comes from Content-MD5 below.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  #key(id: string): string {
    return `${this.#prefix}${checkId(id)}`;
  }

  /** Creates the bucket when it does not exist yet (run once at start; a bucket made by the admin is used as is). */
  async ensureBucket(): Promise<void> {
    try {
      await this.#s3.send(new HeadBucketCommand({ Bucket: this.#bucket }));
      return;
    } catch (err) {
      if (!isMissing(err)) throw failure(`bucket ${this.#bucket}`, err);
    }
    try {
      await this.#s3.send(new CreateBucketCommand({ Bucket: this.#bucket }));
    } catch (err) {
      // Another node created it first.
      if (err instanceof S3ServiceException && (err.name === 'BucketAlreadyOwnedByYou' || err.name === 'BucketAlreadyExists')) return;
      throw failure(`creating bucket ${this.#bucket}`, err);
    }
  }

  async put(data: Uint8Array): Promise<string> {
    const id = await blobIdInSteps(data);
    const Key = this.#key(id);
    const Metadata = { [WRITTEN]: String(Date.now()) };
    if (await this.has(id)) {
      // Re-storing counts as a fresh write (the collector's grace window covers this writer too):
      // a copy onto itself with new metadata moves the write time without sending the bytes again.
      try {
        await this.#s3.send(
          new CopyObjectCommand({
            Bucket: this.#bucket,
            Key,
            CopySource: `${this.#bucket}/${Key}`,
            MetadataDirective: 'REPLACE',
            Metadata,
          }),
        );
        return id;
      } catch (err) {
        // Collected between the check and the copy: store the bytes afresh.
        if (!isMissing(err)) throw failure('refreshing a blob', err);
      }
    }
    const body = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key,
          Body: body,
          ContentLength: body.byteLength,
          ContentMD5: createHash('md5').update(body).digest('base64'),
          ContentType: 'application/octet-stream',
          Metadata,
        }),
      );
    } catch (err) {
      throw failure('storing a blob', err);
    }
    return id;
  }

  async #read(id: string, range?: string): Promise<Readable> {
    const Key = this.#key(id);
    try {
      const out = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key, ...(range ? { Range: range } : {}) }));
      return out.Body as Readable;
    } catch (err) {
      if (isMissing(err)) throw new FingerpostError('not_found', `blob ${id} not found`);
      throw failure('reading a blob', err);
    }
  }

  async get(id: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of await this.#read(id)) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  async range(id: string, start: number, end: number): Promise<Buffer> {
    checkId(id);
    if (end <= start) return Buffer.alloc(0);
    let body: Readable;
    try {
      body = await this.#read(id, `bytes=${start}-${end - 1}`);
    } catch (err) {
      // A range that starts past the end (HTTP 416): nothing there, as for the other stores.
      const cause = err instanceof FingerpostError ? err.cause : undefined;
      if (cause instanceof S3ServiceException && cause.$metadata?.httpStatusCode === 416) return Buffer.alloc(0);
      throw err;
    }
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  stream(id: string): Readable {
    checkId(id);
    const read = () => this.#read(id);
    return Readable.from(
      (async function* () {
        yield* await read();
      })(),
      { objectMode: false },
    );
  }

  async has(id: string): Promise<boolean> {
    return (await this.writtenAt(id)) !== undefined;
  }

  async delete(id: string): Promise<void> {
    try {
      await this.#s3.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(id) }));
    } catch (err) {
      if (!isMissing(err)) throw failure('deleting a blob', err);
    }
  }

  async writtenAt(id: string): Promise<number | undefined> {
    try {
      const head = await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(id) }));
      const written = Number(head.Metadata?.[WRITTEN]);
      return Number.isFinite(written) && written > 0 ? written : head.LastModified?.getTime();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw failure('looking up a blob', err);
    }
  }

  async *ids(): AsyncGenerator<string> {
    let ContinuationToken: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.#s3.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix, ContinuationToken }));
      } catch (err) {
        throw failure('listing blobs', err);
      }
      for (const o of page.Contents ?? []) {
        const name = o.Key?.slice(this.#prefix.length) ?? '';
        if (ID_RE.test(name)) yield name;
      }
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
  }

  /** True when the bucket holds at least one blob (for reading through after a switch of `store.blobs`). */
  async holdsAny(): Promise<boolean> {
    try {
      for await (const _ of this.ids()) return true;
    } catch (err) {
      if (err instanceof FingerpostError && err.cause instanceof S3ServiceException && err.cause.name === 'NoSuchBucket') return false;
      throw err;
    }
    return false;
  }

  close(): void {
    this.#s3.destroy();
  }
}
