import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ResponseParser } from '../bench/raw-http';

const answer = (status: number, body: string, extra = '') =>
  `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('the benchmark client parser', () => {
  it('reads an answer framed by Content-Length, whole or split anywhere', () => {
    const bytes = Buffer.from(answer(200, '{"name":"é-1"}'));
    for (let cut = 1; cut < bytes.length; cut++) {
      const parser = new ResponseParser();
      assert.deepEqual(parser.push(bytes.subarray(0, cut)), [], `nothing complete at ${cut}`);
      assert.deepEqual(parser.push(bytes.subarray(cut)), [{ status: 200, body: '{"name":"é-1"}', close: false }]);
    }
  });

  it('reads several answers of one chunk in order, the last one incomplete until its bytes come', () => {
    const parser = new ResponseParser();
    const third = answer(503, '{"status":503}');
    const answers = parser.push(Buffer.from(answer(200, 'a') + answer(404, '{"status":404}') + third.slice(0, 20)));
    assert.deepEqual(
      answers.map((a) => [a.status, a.body]),
      [
        [200, 'a'],
        [404, '{"status":404}'],
      ],
    );
    assert.deepEqual(parser.push(Buffer.from(third.slice(20))), [{ status: 503, body: '{"status":503}', close: false }]);
  });

  it('reads a chunked answer and a Connection: close', () => {
    const parser = new ResponseParser();
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n{"a"\r\n3;x=1\r\n:1}\r\n0\r\n\r\n';
    assert.deepEqual(parser.push(Buffer.from(chunked.slice(0, 70))), []);
    assert.deepEqual(parser.push(Buffer.from(chunked.slice(70))), [{ status: 200, body: '{"a":1}', close: true }]);
  });

  it('refuses what is not an HTTP/1.1 answer or has no framing', () => {
    assert.throws(() => new ResponseParser().push(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), /not an HTTP\/1.1 answer/);
    assert.throws(() => new ResponseParser().push(Buffer.from('HTTP/1.1 200 OK\r\nX: y\r\n\r\nbody')), /neither by Content-Length nor chunked/);
  });
});
