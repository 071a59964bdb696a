/** Local pages share the handlers' escaping; it lives in core since handlers must not import from local/. */
export { escapeHtml, safeHref } from '../lambdas/core/html';
