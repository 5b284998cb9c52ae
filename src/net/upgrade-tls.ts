import type net from 'node:net';
import type { Connection } from './connection.ts';

/** A session's input while its connection changes sockets. */
export interface UpgradingInput {
  /** Stops reading from the current socket. */
  detach(): void;
  /** Drops every byte received but not yet executed. */
  discard(): void;
  /** Reads from `socket` (the TLS socket) from now on. */
  attach(socket: net.Socket): void;
}

/**
 * STARTTLS for a line protocol (RFC 3207 §4.2, RFC 9051 §6.2.1, RFC 2595 §4): drops what was
 * pipelined after the command (the command-injection defence), sends the go-ahead and flushes
 * it, detaches the input, runs the handshake and re-attaches the input to the TLS socket with
 * nothing carried over. False when the handshake failed: the connection is destroyed.
 */
export async function upgradeTls(conn: Connection, input: UpgradingInput, goAhead: string, timeoutMs: number): Promise<boolean> {
  input.discard();
  conn.write(goAhead);
  const plain = conn.socket;
  while (plain.writableCorked) plain.uncork();
  input.detach();
  input.discard();
  try {
    await conn.startTls(timeoutMs);
  } catch {
    conn.destroy();
    return false;
  }
  input.discard();
  input.attach(conn.socket);
  return true;
}
