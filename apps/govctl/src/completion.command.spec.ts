import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { complete, completionSlot } from './completion.command';
import { buildProgram } from './program';

const { program } = buildProgram({});

describe('completion', () => {
  it('finds what the word being typed is: a subcommand, an option, an option value or a named argument', () => {
    assert.equal(completionSlot(program, ['']).kind, 'commands');
    assert.equal(completionSlot(program, ['tenants', 'g']).kind, 'commands');
    assert.deepEqual(pick(completionSlot(program, ['tenants', 'get', ''])), { kind: 'argument', command: 'get', argument: 'tenant' });
    assert.deepEqual(pick(completionSlot(program, ['-o', 'json', 'run', ''])), { kind: 'argument', command: 'run', argument: 'tenant' });
    assert.deepEqual(pick(completionSlot(program, ['run', 'acme', ''])), { kind: 'argument', command: 'run', argument: 'command' });
    assert.deepEqual(pick(completionSlot(program, ['logs', '--tail', '5', 'ac'])), { kind: 'argument', command: 'logs', argument: 'tenant' });
    assert.deepEqual(pick(completionSlot(program, ['ps', 'acme', 'extra'])), { kind: 'argument', command: 'ps', argument: undefined });
    assert.equal(completionSlot(program, ['tenants', 'list', '--output', '']).option?.long, '--output');
    assert.equal(completionSlot(program, ['quota', 'set', 'acme', '--mem']).kind, 'options');
  });

  it('offers subcommands, options and formats without asking the API', async () => {
    assert.deepEqual(await complete(program, ['tenants', 'h'], {}), ['history']);
    assert.deepEqual(await complete(program, ['top', '--so'], {}), ['--sort']);
    assert.deepEqual(await complete(program, ['-o', 'y'], {}), ['yaml']);
    assert.deepEqual(await complete(program, ['completion', ''], {}), ['bash', 'zsh']);
    assert.ok(!(await complete(program, [''], {})).includes('__complete'));
  });
});

function pick(slot: ReturnType<typeof completionSlot>) {
  return { kind: slot.kind, command: slot.command.name(), argument: slot.argument };
}
