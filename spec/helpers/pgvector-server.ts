/**
 * A real pgvector for tests: PGlite (Postgres in WASM) with its pgvector extension, served over TCP by
 * pglite-socket so the plugin talks to it through `pg` exactly as to a Postgres server.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { freePort } from './redis-server';

export class PgvectorServer {
  private constructor(
    readonly db: PGlite,
    private server: PGLiteSocketServer,
    readonly port: number,
  ) {}

  static async start(): Promise<PgvectorServer> {
    const db = await PGlite.create({ extensions: { vector } });
    const port = await freePort();
    const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 8 });
    await server.start();
    return new PgvectorServer(db, server, port);
  }

  /** Stop listening (an outage); the database stays. */
  async stopListening(): Promise<void> {
    await this.server.stop();
  }

  async listenAgain(): Promise<void> {
    this.server = new PGLiteSocketServer({ db: this.db, port: this.port, host: '127.0.0.1', maxConnections: 8 });
    await this.server.start();
  }

  async close(): Promise<void> {
    await this.server.stop().catch(() => undefined);
    await this.db.close();
  }
}
