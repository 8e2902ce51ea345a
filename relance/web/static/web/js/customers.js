// The customers list: tick every row of the page, count the ticked rows, show only the fields of the
// chosen bulk action (without script every field shows and the server checks what it needs).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("[data-bulk]");
  if (!form) return;
  const checks = () => Array.from(document.querySelectorAll("[data-row-check]"));
  const count = form.querySelector("[data-bulk-count]");
  const all = document.querySelector("[data-select-all]");
  const update = () => {
    const ticked = checks().filter((box) => box.checked).length;
    count.textContent = String(ticked);
    if (all) all.checked = ticked > 0 && ticked === checks().length;
  };
  if (all) {
    all.addEventListener("change", () => {
      checks().forEach((box) => { box.checked = all.checked; });
      update();
    });
  }
  checks().forEach((box) => box.addEventListener("change", update));
  const action = form.querySelector("select[name=action]");
  const showFields = () => {
    form.querySelectorAll("[data-for-action]").forEach((field) => {
      field.hidden = field.dataset.forAction !== action.value;
    });
  };
  action.addEventListener("change", showFields);
  showFields();
  update();
});
