import { connect, type Socket } from 'node:net';

/**
 * A lean HTTP/1.1 client for the read benchmarks: one keep-alive socket per client, a request written as one
 * string, and an answer parsed only as far as its status, its framing (Content-Length or chunked) and its
 * body. Node's http client cost 0.15-1.0 ms of CPU per GET on the same 2 cores as the governor it measures
 * (its agent, its header objects and its streams), as much as the governor's own cost of a GET; wrk would
 * cost less still but could not check each body against the name asked for.
 */

export interface RawAnswer {
  status: number;
  body: string;
  /** the server said Connection: close: the socket serves no further request */
  close: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/** Answers from a byte stream, in order, however the stream splits them. */
export class ResponseParser {
  private buffer: Buffer = Buffer.alloc(0);

  /** The bytes just received; the answers they complete. Throws on a stream that is not HTTP/1.1. */
  push(chunk: Buffer): RawAnswer[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const answers: RawAnswer[] = [];
    for (let answer = this.next(); answer !== undefined; answer = this.next()) answers.push(answer);
    return answers;
  }

  private next(): RawAnswer | undefined {
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd < 0) return undefined;
    const head = this.buffer.toString('latin1', 0, headerEnd);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (status === null) throw new Error(`not an HTTP/1.1 answer: ${JSON.stringify(head.slice(0, 80))}`);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    const close = /\r\nconnection:\s*close/i.test(head);
    const bodyStart = headerEnd + HEADER_END.length;
    let body: Buffer | undefined;
    let end: number;
    if (length !== null) {
      end = bodyStart + Number(length[1]);
      if (this.buffer.length < end) return undefined;
      body = this.buffer.subarray(bodyStart, end);
    } else if (chunked) {
      const decoded = dechunk(this.buffer, bodyStart);
      if (decoded === undefined) return undefined;
      ({ body, end } = decoded);
    } else {
      throw new Error(`an answer framed neither by Content-Length nor chunked: ${JSON.stringify(head.slice(0, 200))}`);
    }
    this.buffer = this.buffer.subarray(end);
    return { status: Number(status[1]), body: body.toString('utf8'), close };
  }
}

/** A chunked body from `start`, and where it ends; undefined while it is incomplete. Trailers are not expected. */
function dechunk(buffer: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  for (let at = start; ;) {
    const lineEnd = buffer.indexOf(CRLF, at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buffer.toString('latin1', at, lineEnd).split(';')[0], 16);
    if (Number.isNaN(size)) throw new Error(`a chunk size that is not hex: ${JSON.stringify(buffer.toString('latin1', at, lineEnd))}`);
    const dataStart = lineEnd + CRLF.length;
    if (size === 0) {
      if (buffer.length < dataStart + CRLF.length) return undefined;
      return { body: Buffer.concat(parts), end: dataStart + CRLF.length };
    }
    if (buffer.length < dataStart + size + CRLF.length) return undefined;
    parts.push(buffer.subarray(dataStart, dataStart + size));
    at = dataStart + size + CRLF.length;
  }
}

/** One keep-alive connection sending GETs one at a time; it reconnects after a Connection: close or a reset. */
export class RawHttpConnection {
  private socket: Socket | undefined;
  private parser = new ResponseParser();
  private waiting: { resolve: (answer: RawAnswer) => void; reject: (err: Error) => void } | undefined;

  constructor(
    private readonly port: number,
    private readonly host: string,
    /** header lines sent with every request, each ending in \r\n (Authorization, for instance) */
    private readonly headers: string,
  ) {}

  get(path: string): Promise<RawAnswer> {
    if (this.waiting !== undefined) throw new Error('one request at a time on a RawHttpConnection');
    const socket = this.socket ?? this.open();
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n${this.headers}\r\n`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    const socket = connect(this.port, this.host);
    socket.setNoDelay(true);
    this.parser = new ResponseParser();
    // Events of a socket this connection has already left behind (after a Connection: close) are not its own.
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      let answers: RawAnswer[];
      try {
        answers = this.parser.push(chunk);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      for (const answer of answers) {
        const waiting = this.waiting;
        this.waiting = undefined;
        if (answer.close) this.close();
        waiting?.resolve(answer);
      }
    });
    socket.on('error', (err) => {
      if (this.socket === socket) this.fail(err);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.fail(new Error('the server closed the connection before answering'));
    });
    this.socket = socket;
    return socket;
  }

  private fail(err: Error): void {
    this.close();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }
}
