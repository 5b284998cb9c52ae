import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../core/log.ts';

/** The HTTPS fastify app the provider mounts on (built by protocols/http, which idp may not import). */
export type HttpsApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;
