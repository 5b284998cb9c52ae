import type { Db } from '../store/db.ts';
import type { BlobStore } from '../store/blobs.ts';
import type { Clock } from '../core/clock.ts';
import { DmarcReports } from './inbound/dmarc-reports.ts';
import { Greylist, type GreylistOptions } from './inbound/greylist.ts';
import { DkimKeys } from './queue/dkim.ts';
import { ReportStore } from './reports/report-store.ts';
import { OutboundQueue } from './queue/queue.ts';
import { SieveDelivery, type SieveDeliveryOptions } from './sieve/deliver.ts';
import { type SendingLimitOptions, SendingLimits } from './submission/sending-limits.ts';

/**
 * The stores outbound and filtered mail keep in the node's database, built here so the SMTP
 * protocol composes them without reaching storage itself: the queue (RFC 5321 §4.5.4.1), DKIM
 * keys (RFC 6376), per-account sending limits, Sieve delivery with its vacation claims
 * (RFC 5230 §4.2), and the MX's greylisting triplets (RFC 6647) and DMARC reports (RFC 7489 §7.2).
 */
export class OutboundStorage {
  readonly #db: Db;
  readonly #blobs: BlobStore;

  constructor(db: Db, blobs: BlobStore) {
    this.#db = db;
    this.#blobs = blobs;
  }

  /** The durable outbound queue; messages older than `maxAgeMs` bounce. */
  queue(options: { maxAgeMs: number; now?: () => number }): OutboundQueue {
    return new OutboundQueue(this.#db, this.#blobs, options);
  }

  /** The domains' DKIM signing keys. */
  dkim(): DkimKeys {
    return new DkimKeys(this.#db);
  }

  /** Per-account sending limits over a sliding window. */
  sendingLimits(options: SendingLimitOptions): SendingLimits {
    return new SendingLimits(this.#db, options);
  }

  /** Delivery into accounts through their active Sieve scripts (src/mail/sieve/deliver.ts). */
  sieveDelivery(options: Omit<SieveDeliveryOptions, 'db'>): SieveDelivery {
    return new SieveDelivery({ ...options, db: this.#db });
  }

  /** Greylisting triplets shared by every node (RFC 6647). */
  greylist(options: GreylistOptions): Greylist {
    return new Greylist(this.#db, options);
  }

  /** Counts the daily DMARC (RFC 7489 §7.2) and TLS-RPT (RFC 8460) reports this server sends are built from. */
  reports(): ReportStore {
    return new ReportStore(this.#db);
  }

  /** DMARC aggregate reports received for our domains (RFC 7489 §7.2). */
  dmarcReports(clock?: Clock): DmarcReports {
    return new DmarcReports(this.#db, clock);
  }
}
