/**
 * The bytes of one GET /metrics answer, written in place. A scrape at 1,000 tenants is some 17,000 lines and
 * 1.4 MB (far more in a guest with every controller). Built as a JavaScript string, it was a rope of tens of
 * thousands of pieces that had to be flattened and then encoded to UTF-8 for the socket: a third of the
 * scrape's time on the event loop. Here each line is copied from bytes made once per family and label set,
 * followed by its value's ASCII digits, so the answer is one Buffer the response sends as it is.
 */
export class ExpositionBuffer {
  private buffer: Buffer;
  private length = 0;

  /** `sizeHint`: the last answer's length, so that a scrape of the same tenants grows the buffer at most once. */
  constructor(sizeHint = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(Math.max(1024, sizeHint));
  }

  /** Bytes made once and written many times: a family's line prefix, or a label set's text. */
  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** A string of any characters, UTF-8 encoded. */
  text(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** A string known to be ASCII (a number's text), copied without a call into the runtime. */
  ascii(text: string): void {
    this.reserve(text.length);
    const buffer = this.buffer;
    let at = this.length;
    for (let i = 0; i < text.length; i += 1) buffer[at++] = text.charCodeAt(i);
    this.length = at;
  }

  byte(code: number): void {
    this.reserve(1);
    this.buffer[this.length++] = code;
  }

  get size(): number {
    return this.length;
  }

  /** What was written, as a Buffer over the same memory: the writer is not used after this. */
  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(more: number): void {
    if (this.length + more <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + more));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
