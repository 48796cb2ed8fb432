// The differential oracle of the workflow language (t/backends/
// 090-workflow-conformance.t, docs/workflow.md): runs a definition
// through npm aws-local-stepfunctions with the same mocks and prints
// the result in the shape `workflow run` prints it, one line of compact
// JSON with sorted keys:
//
//   node asl-oracle.mjs FILE [-i INPUT_FILE | -j INPUT_JSON]
//                            [-m MOCKS_FILE] [-c CONTEXT_FILE]
//   node asl-oracle.mjs [--no-validate] --corpus DIR
//       every case folder of DIR (t/workflow/cases), one line each, with
//       its "case" name
//
//   {"output": ..., "status": "SUCCEEDED"}
//   {"cause": ..., "error": ..., "status": "FAILED"}
//   {"cause": ..., "error": "States.InvalidDefinition", "status": "INVALID"}
//
// Mocks answer Task states by name, as lib/asl's local runner reads
// them: {"<state>": [{"Return": value} | {"Throw": {"Error", "Cause"}},
// ...]}, taken in order, the last one repeating; a Task without mocks
// fails with States.TaskFailed.  Every Wait and every retry pause is
// overridden to 0 ms.  The context file gives fields of the context
// object ({"Execution": {"Id", "Name", ...}, ...}).
// Exit 0 when it ran (whatever the status), 2 on a usage or IO error.

import { existsSync, readFileSync, readdirSync } from 'node:fs';

// the oracle's Task states use Promise.withResolvers (Node.js 22); on
// Node.js 20 it is given here, before the package is loaded
if (typeof Promise.withResolvers !== 'function') {
    Promise.withResolvers = function () {
        let resolve, reject;
        const promise = new Promise((res, rej) => {
            resolve = res;
            reject = rej;
        });
        return { promise, resolve, reject };
    };
}

const { StateMachine } = await import('aws-local-stepfunctions');

function usage() {
    process.stderr.write('usage: asl-oracle.mjs [--no-validate] FILE '
        + '[-i INPUT_FILE | -j INPUT_JSON] [-m MOCKS_FILE] '
        + '[-c CONTEXT_FILE]\n'
        + '       asl-oracle.mjs [--no-validate] --corpus DIR\n');
    process.exit(2);
}

function load(path) {
    try {
        return JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
        process.stderr.write(`asl-oracle: ${path}: ${e.message}\n`);
        process.exit(2);
    }
}

// keys sorted at every level, for stable diffs
function sorted(v) {
    if (Array.isArray(v)) {
        return v.map(sorted);
    }
    if (v !== null && typeof v === 'object') {
        const o = {};
        for (const k of Object.keys(v).sort()) {
            o[k] = sorted(v[k]);
        }
        return o;
    }
    return v;
}

function answer(v) {
    process.stdout.write(JSON.stringify(sorted(v)) + '\n');
}

// every state of every machine (branches, item processors), by name
function walk(machine, each) {
    for (const [name, st] of Object.entries(machine?.States ?? {})) {
        each(name, st);
        for (const b of st.Branches ?? []) {
            walk(b, each);
        }
        walk(st.ItemProcessor ?? st.Iterator, each);
    }
}

// the oracle's own definition checks (asl-validator, ajv) cost about
// 0.1 s a definition: --no-validate skips them (the corpus is checked by
// `workflow check` and by single runs of this script)
let VALIDATION = { checkArn: false };

// one execution: the answer object
async function run(definition, input, mocks, context) {
    const taskResourceLocalHandlers = {};
    const waitTimeOverrides = {};
    const retryIntervalOverrides = {};
    const calls = {};

    walk(definition, (name, st) => {
        if (st.Retry !== undefined) {
            retryIntervalOverrides[name] = 0;
        }
        if (st.Type === 'Wait') {
            waitTimeOverrides[name] = 0;
        }
        if (st.Type !== 'Task') {
            return;
        }
        taskResourceLocalHandlers[name] = async () => {
            const list = mocks[name];
            if (!Array.isArray(list) || list.length === 0) {
                const e = new Error(`no mock answers the task state "${name}"`);
                e.name = 'States.TaskFailed';
                throw e;
            }
            const n = calls[name] ?? 0;
            calls[name] = n + 1;
            const a = list[Math.min(n, list.length - 1)];
            if (a.Throw !== undefined) {
                const e = new Error(a.Throw.Cause ?? '');
                e.name = a.Throw.Error ?? 'States.TaskFailed';
                throw e;
            }
            return a.Return;
        };
    });

    let sm;
    try {
        sm = new StateMachine(definition, {
            validationOptions: VALIDATION
        });
    } catch (e) {
        return { status: 'INVALID', error: 'States.InvalidDefinition',
                 cause: String(e.message) };
    }

    const options = {
        overrides: { taskResourceLocalHandlers, waitTimeOverrides,
                     retryIntervalOverrides }
    };
    if (context !== undefined) {
        options.context = context;
    }

    try {
        const output = await sm.run(input, options).result;
        return { status: 'SUCCEEDED', output: output ?? null };
    } catch (e) {
        const c = e.cause ?? e;
        return { status: 'FAILED', error: String(c.name),
                 cause: String(c.message ?? '') };
    }
}

const args = process.argv.slice(2);

if (args[0] === '--no-validate') {
    VALIDATION = { noValidate: true };
    args.shift();
}

// --corpus DIR: every case folder of DIR (definition.json, input.json,
// mocks.json, context.json), one answer a line with its "case" name
if (args[0] === '--corpus' && args.length === 2) {
    const dir = args[1];
    const names = readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory()).map((d) => d.name).sort();
    for (const name of names) {
        const c = `${dir}/${name}`;
        const a = await run(load(`${c}/definition.json`),
            existsSync(`${c}/input.json`) ? load(`${c}/input.json`) : {},
            existsSync(`${c}/mocks.json`) ? load(`${c}/mocks.json`) : {},
            existsSync(`${c}/context.json`) ? load(`${c}/context.json`)
                                            : undefined);
        a.case = name;
        answer(a);
    }
    process.exit(0);
}

let file, inputPath, inputJson, mocksPath, contextPath;

for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-')) {
        if (file !== undefined) usage();
        file = a;
        continue;
    }
    if (i + 1 >= args.length) usage();
    if (a === '-i') inputPath = args[++i];
    else if (a === '-j') inputJson = args[++i];
    else if (a === '-m') mocksPath = args[++i];
    else if (a === '-c') contextPath = args[++i];
    else usage();
}

if (file === undefined) usage();

let input = {};
if (inputPath !== undefined) {
    input = load(inputPath);
} else if (inputJson !== undefined) {
    try {
        input = JSON.parse(inputJson);
    } catch (e) {
        process.stderr.write(`asl-oracle: input: ${e.message}\n`);
        process.exit(2);
    }
}

answer(await run(load(file), input,
                 mocksPath !== undefined ? load(mocksPath) : {},
                 contextPath !== undefined ? load(contextPath) : undefined));
process.exit(0);
