#!/usr/bin/env node
// Size check for packages/*/src: files over 400 lines and functions over 60 lines.
//
//   node scripts/size-check.mjs                      # every package; exit 1 if anything is over
//   node scripts/size-check.mjs packages/coordinator # only the packages (or folders, files) named
//   node scripts/size-check.mjs --top 5              # also list the 5 longest functions
//
// Lines are physical lines (blank lines and comments included). A function is any function
// declaration, method, constructor, accessor, function expression or arrow function; its length
// runs from its first token (after leading comments) to its closing brace. Nested functions are
// measured on their own and also count toward the function that holds them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 60;

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1] ?? 10) : 0;
const root = process.cwd();
const roots = args.length > 0 ? args : readdirSync('packages').map((p) => join('packages', p));

function* sourceFiles(dir) {
  if (!statSync(dir).isDirectory()) {
    yield dir;
    return;
  }
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.tsx?$/.test(entry) && !entry.endsWith('.d.ts')) yield path;
  }
}

function srcDirs(path) {
  const src = join(path, 'src');
  try {
    if (statSync(src).isDirectory()) return [src];
  } catch {
    // not a package root: take the folder as it is
  }
  return [path];
}

function functionName(node) {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '(anonymous)';
}

function measure(file) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const functions = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      functions.push({ name: functionName(node), line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { lines: sf.getLineStarts().length - (text.endsWith('\n') ? 1 : 0), functions };
}

const bigFiles = [];
const longFunctions = [];
const all = [];
for (const r of roots)
  for (const dir of srcDirs(r))
    for (const file of sourceFiles(dir)) {
      const m = measure(file);
      const rel = relative(root, file);
      if (m.lines > MAX_FILE_LINES) bigFiles.push(`${rel}: ${m.lines} lines`);
      for (const f of m.functions) {
        all.push({ ...f, file: rel });
        if (f.lines > MAX_FUNCTION_LINES) longFunctions.push(`${rel}:${f.line} ${f.name}: ${f.lines} lines`);
      }
    }

if (bigFiles.length) console.log(`files over ${MAX_FILE_LINES} lines:\n  ${bigFiles.join('\n  ')}`);
if (longFunctions.length) console.log(`functions over ${MAX_FUNCTION_LINES} lines:\n  ${longFunctions.join('\n  ')}`);
if (top > 0) {
  all.sort((a, b) => b.lines - a.lines);
  console.log(
    `longest functions:\n  ${all
      .slice(0, top)
      .map((f) => `${f.file}:${f.line} ${f.name}: ${f.lines} lines`)
      .join('\n  ')}`,
  );
}
if (!bigFiles.length && !longFunctions.length)
  console.log(`size check: no file over ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES} lines`);
process.exit(bigFiles.length || longFunctions.length ? 1 : 0);
