#!/usr/bin/env node
// Generates tokenizer/testdata/corpus.json and tokenizer/testdata/gold_<name>.json:
// token ids produced by the real Hugging Face Rust `tokenizers` library
// (npm tokenizers@0.23.2 ships it prebuilt) for the tokenizer files that
// scripts/test-setup.sh installs into testdata/.cache/tokenizers/.
//
//   scripts/test-setup.sh && node scripts/gen_tokenizer_gold.js
//
// The corpus is deterministic (seeded PRNG + GOROOT source/licence text).
'use strict';
const fs = require('fs');
const path = require('path');
const { execSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const cache = path.join(root, 'testdata/.cache');
const { Tokenizer } = require(path.join(cache, 'npm/node_modules/tokenizers'));
const outDir = path.join(root, 'tokenizer/testdata');

let seed = 12345;
function rand() { // mulberry32
  seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];

const specials = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>', '</tool_call>',
  '<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>',
  '<|start|>', '<|end|>', '<|message|>', '<|channel|>', '<|return|>', '<|call|>', '<|constrain|>',
  '<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>', '<｜tool▁calls▁begin｜>', '<｜tool▁sep｜>',
  '<|im_start', 'im_end|>', '<|', '|>',
];

const hand = [
  '', ' ', '  ', '\n', '\r\n', 'Hello world', 'Hello, world!', ' Hello', 'hello   world  ',
  "I'm you're he'll she'd we've they're it's DON'T I'M WE'LL 'S 'T 'ſ 'ﬅ o'clock rock'n'roll",
  '12345678901 3.14159 1,000,000 -42 +7e10 0x1F ١٢٣٤٥ ½ ² ⅷ 〇一二三 ٣.١٤',
  'a  b   c\t\td\n\n\ne   \n  f \u000b\u000c g\u0085h\u00a0i\u3000j\u2028k\u200bl \u001c\u001d\u001e\u001f m',
  'line1\r\nline2\r\n\r\n  \r\n\tline3\n\r\n',
  'trailing spaces    ', '    leading spaces', '\n\n\n', ' \n \n ', '\t\t\t',
  'def f(x):\n    return x**2 + 1  # comment\n\nprint(f(3))\n',
  'func main() {\n\tfmt.Println("héllo, 世界")\n\tfor i := 0; i < 10; i++ {\n\t\tx[i] += i*2\n\t}\n}\n',
  'const x = {a: 1, "b": [true, null]}; // js\nif (x?.a !== undefined) { console.log(`${x.a}`); }',
  '<div class="x">&amp; &lt;tag&gt;</div>\n<!-- comment -->',
  'SELECT * FROM users WHERE id = 42 AND name LIKE \'%o\';',
  '你好，世界！这是一个测试。中文分词很重要。', 'こんにちは、世界。カタカナとひらがな。漢字も。', '안녕하세요 세계',
  'مرحبا بالعالم', 'नमस्ते दुनिया', 'Привет, мир! Ёлка', 'Γειά σου Κόσμε', 'שלום עולם',
  'emoji 🙂👍🏽👨‍👩‍👧‍👦 🇫🇷 ❤️ ✨🎉', 'café cafe\u0301 e\u0301\u0302 Å Å ﬁ ﬀ Ⅻ ① ｆｕｌｌｗｉｄｔｈ',
  'ALLCAPS WORDS and MixedCase CamelCaseWords snake_case_words kebab-case-words',
  'HTTPServer XMLHttpRequest iPhone eBay McDonald\'s',
  'path/to/file.txt C:\\Windows\\System32 https://example.com/a?b=c&d=e#f',
  'math: ∑_{i=1}^{n} i² = n(n+1)/2, ∀x∈ℝ, √2 ≈ 1.41421356',
  '...!!!???,,,;;;:::---___===+++***&&&^^^%%%$$$###@@@~~~```|||\\\\///',
  '\u0301 \u0301abc \u0301ABC x\u0301Y',
  '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nsimple\n</think>\n\n4<|im_end|>',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  '<|start|>assistant<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final<|message|>ok<|return|>',
  '<｜begin▁of▁sentence｜>sys<｜User｜>hello<｜Assistant｜></think>hi<｜end▁of▁sentence｜>',
  'specials glued:<|im_end|><|im_end|>x<|endoftext|> <|endoftext|>  <|im_start|>\n<|im_start <|im_end|',
  'x'.repeat(300), 'ab'.repeat(200), ' '.repeat(50) + 'x', '1'.repeat(100), '\n'.repeat(20) + ' '.repeat(5),
];

const atoms = [
  ' ', '  ', '   ', '\t', '\n', '\r\n', '\r', '\n\n', ' \n', '\u00a0', '\u3000', '\u200b',
  'a', 'Z', 'the', ' the', 'The', 'ÉCOLE', 'naïve', 'über', 'ß', 'İ', 'ǅ', 'ʰ', 'x\u0301', '\u0301',
  "'s", "'S", "'ll", "'re", "'ve", "'d", "'m", "'t", "n't", "'", '"',
  '0', '7', '12', '123', '1234', '3.14', '١٢', '½', '²', '…', '—', '–', '-', '_', '/', '\\', '.', ',', '!', '?',
  '(', ')', '{', '}', '[', ']', '<', '>', '=', '==', '=>', '->', '::', '#', '@', '$', '%', '^', '&', '*', '~', '`', '|',
  '中', '文字', 'の', 'カ', 'ー', '한', 'ع', 'क्', 'д', 'λ', '🙂', '👍🏽', '👨‍👩‍👧', '🇯🇵', '\ufe0f', '\u200d',
  ...specials,
];

const corpus = [...hand];
// Real prose and code: chunks of Go's LICENSE and a stdlib source file.
const goroot = execSync('go env GOROOT').toString().trim();
for (const f of ['LICENSE', 'src/strings/strings.go', 'src/unicode/utf8/utf8.go']) {
  const text = fs.readFileSync(path.join(goroot, f), 'utf8');
  for (let i = 0; i < text.length && i < 60000; i += 1500) corpus.push(text.slice(i, i + 1500));
}
for (let i = 0; i < 300; i++) {
  const n = 3 + Math.floor(rand() * 40);
  let s = '';
  for (let j = 0; j < n; j++) s += pick(atoms);
  corpus.push(s);
}
fs.writeFileSync(path.join(outDir, 'corpus.json'), JSON.stringify({
  note: 'Tokenizer test corpus (generated by scripts/gen_tokenizer_gold.js).',
  texts: corpus,
}, null, 0) + '\n');

async function main() {
  const names = process.argv.length > 2 ? process.argv.slice(2) : ['qwen3', 'llama3_1', 'gptoss', 'deepseek_v3'];
  for (const name of names) {
    const file = path.join(cache, 'tokenizers', name, 'tokenizer.json');
    const tok = Tokenizer.fromFile(file);
    const cases = [];
    for (const text of corpus) {
      const plain = await tok.encode(text, null, { addSpecialTokens: false });
      const withSpecial = await tok.encode(text, null, { addSpecialTokens: true });
      const c = { ids: plain.getIds() };
      const ws = withSpecial.getIds();
      if (JSON.stringify(ws) !== JSON.stringify(c.ids)) c.ids_special = ws;
      cases.push(c);
    }
    // Decoding: random windows of the encoded corpus (windows cut UTF-8
    // sequences and special tokens apart), decoded by the Rust library.
    const all = cases.flatMap((c) => c.ids);
    const decode = [];
    for (let i = 0; i < 300; i++) {
      const start = Math.floor(rand() * all.length);
      const ids = all.slice(start, start + 1 + Math.floor(rand() * 12));
      decode.push({ ids, text: await tok.decode(ids, false) });
    }
    const out = { tokenizer: name, reference: 'npm tokenizers@0.23.2 (HF Rust tokenizers)', cases, decode };
    fs.writeFileSync(path.join(outDir, `gold_${name}.json`), JSON.stringify(out) + '\n');
    console.log(`${name}: ${cases.length} texts, ${all.length} ids, ${decode.length} decode cases`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
