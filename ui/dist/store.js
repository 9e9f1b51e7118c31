// store.js — conversations kept in this browser (localStorage): a list of
// { id, title, created, model, system, messages: [{ role, content, image?, stats?, error? }] }.
const KEY = 'hearth.conversations';
const CURRENT = 'hearth.current';

export function loadAll() {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(v) ? v.filter((c) => c && typeof c.id === 'string' && Array.isArray(c.messages)) : [];
  } catch {
    return [];   // a damaged entry: start afresh rather than fail
  }
}

// false when the browser refused (storage full): the caller says so
export function saveAll(list) {
  try {
    localStorage.setItem(KEY, JSON.stringify(list));
    return true;
  } catch {
    return false;
  }
}

export function currentId() { return localStorage.getItem(CURRENT); }
export function setCurrentId(id) { localStorage.setItem(CURRENT, id); }

export function newConversation() {
  const id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
  return { id, title: 'Untitled', created: new Date().toISOString(), model: '', system: '', messages: [] };
}

// a download of every conversation as JSON
export function exportJSON(list) {
  const blob = new Blob([JSON.stringify({ exported: new Date().toISOString(), conversations: list }, null, 2)],
    { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `hearth-conversations-${new Date().toISOString().slice(0, 10)}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
