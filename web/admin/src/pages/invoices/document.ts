// RenderInvoice returns a complete HTML document and a file name: offered
// as a download (Blob URL) or printed (the browser's "save as PDF").
import { api } from "@/lib/api";

export async function renderInvoice(id: string, locale: string) {
  return api.billing.renderInvoice({ id, locale });
}

export function downloadHtml(html: string, filename: string) {
  const url = URL.createObjectURL(new Blob([html], { type: "text/html;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Prints the document from a hidden frame (no pop-up to block). The frame
 * runs no scripts; it is removed once the print dialog closes.
 */
export function printHtml(html: string) {
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-same-origin allow-modals");
  frame.style.position = "fixed";
  frame.style.width = "0";
  frame.style.height = "0";
  frame.style.border = "0";
  frame.srcdoc = html;
  frame.onload = () => {
    const view = frame.contentWindow;
    if (!view) return;
    view.addEventListener("afterprint", () => frame.remove());
    view.focus();
    view.print();
  };
  document.body.append(frame);
}
