// markdown.js — a model's reply as HTML: Markdown (marked) then sanitised
// (DOMPurify), so HTML in a reply (<script>, onerror=...) never runs. Links
// open in a new tab without access to this page.
import { Marked } from './vendor/marked.js';
import DOMPurify from './vendor/purify.js';

const marked = new Marked({ gfm: true, breaks: true });

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

export function renderMarkdown(text) {
  const html = marked.parse(text ?? '', { async: false });
  return DOMPurify.sanitize(html, { FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'svg', 'math'],
    FORBID_ATTR: ['style'] });
}
