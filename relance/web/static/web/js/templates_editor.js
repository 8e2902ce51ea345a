// Template editor: a click on a variable's name copies "{{ name }}" into the text being edited, at the caret.
(() => {
  let last = null;
  document.addEventListener("focusin", (event) => {
    if (event.target.matches("#template-form textarea, #template-form input[name=subject]")) last = event.target;
  });
  document.addEventListener("click", (event) => {
    const code = event.target.closest(".variables dt code");
    if (!code || !last || last.readOnly) return;
    const name = code.textContent.split(",")[0].trim();
    const text = `{{ ${name} }}`;
    const start = last.selectionStart ?? last.value.length;
    last.setRangeText(text, start, last.selectionEnd ?? start, "end");
    last.focus();
    last.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
