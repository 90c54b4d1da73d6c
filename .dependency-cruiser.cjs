/**
 * The import rules of ARCHITECTURE.md, enforced: each folder may import only the folders its row names,
 * nothing imports upward, the core names no concrete broker or store, and no import cycle exists.
 * Run by `npm run lint:deps` (part of `npm test`).
 */
const only = (name, from, allowed, comment) => ({
  name,
  severity: 'error',
  comment,
  from: { path: from },
  to: { path: '^src/', pathNot: allowed },
});

const BROKERS = 'memory|sqlite|redis|amqp';
const STORES = 'memory|sqlite|redis|rpc';
const RPC_DRIVERS = 'tcp|http';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles make load order fragile.', from: {}, to: { circular: true } },
    only('errors-imports-nothing', '^src/errors\\.ts$', '^$', 'errors.ts is the root of the tree.'),
    only('util', '^src/util/', '^src/(util/|errors\\.ts$)', 'util/ holds small helpers.'),
    only('protocol-is-pure', '^src/protocol/', '^src/(protocol/|util/(ids|clock)\\.ts$|errors\\.ts$)', 'protocol/ does no I/O.'),
    only('config', '^src/config/', '^src/(config/|util/|errors\\.ts$)', 'config/ stands alone.'),
    only('transport-root', '^src/transport/[^/]+\\.ts$', '^src/(transport/[^/]+\\.ts$|protocol/|util/|errors\\.ts$)', 'The transport contract knows no broker.'),
    only('transport-virtual', '^src/transport/virtual/', '^src/(transport/[^/]+\\.ts$|transport/virtual/|protocol/|util/|errors\\.ts$)', 'The virtual transport is written once for every broker without exchanges.'),
    ...BROKERS.split('|').map((b) =>
      only(`transport-${b}-self-contained`, `^src/transport/${b}/`, `^src/(transport/[^/]+\\.ts$|transport/virtual/|transport/${b}/|protocol/|util/|errors\\.ts$)`, 'A broker plug-in never imports another.'),
    ),
    only('backend-root', '^src/backend/[^/]+\\.ts$', '^src/(backend/[^/]+\\.ts$|protocol/|util/|errors\\.ts$)', 'The backend contract knows no store.'),
    ...STORES.split('|').map((s) =>
      only(`backend-${s}-self-contained`, `^src/backend/${s}/`, `^src/(backend/[^/]+\\.ts$|backend/${s}/|protocol/|util/|errors\\.ts$${s === 'rpc' ? '|transport/[^/]+\\.ts$' : ''})`, 'A store plug-in never imports another.'),
    ),
    only('app', '^src/app/', '^src/(app/|control/|events/|rpc/|config/|protocol/|transport/[^/]+\\.ts$|backend/[^/]+\\.ts$|util/|errors\\.ts$)', 'The app names no concrete broker or store.'),
    only('worker', '^src/worker/', '^src/(worker/|app/|control/|events/|protocol/|transport/[^/]+\\.ts$|backend/[^/]+\\.ts$|config/|util/|errors\\.ts$)', 'The worker names no concrete broker or store.'),
    only('control', '^src/control/', '^src/(control/|transport/[^/]+\\.ts$|protocol/|util/|errors\\.ts$)', 'The mailbox knows nothing of the worker.'),
    only('events', '^src/events/', '^src/(events/|transport/[^/]+\\.ts$|protocol/|util/|errors\\.ts$)', 'Events ride on the transport interface only.'),
    only('beat', '^src/beat/', '^src/(beat/|app/|util/|errors\\.ts$)', 'Beat sends tasks like any producer.'),
    only('rpc', '^src/rpc/', '^src/(rpc/|transport/[^/]+\\.ts$|protocol/|util/|errors\\.ts$)', 'RPC rides on the transport interface; app.rpc composes it (app/ imports rpc/, never the reverse).'),
    only('cli-and-dashboard', '^src/(cli|dashboard)/', '^src/((cli|dashboard)/|index\\.ts$|builtins\\.ts$)', 'Front ends use the public API only.'),
    only('testing', '^src/testing/', '^src/(testing/|index\\.ts$|transport/memory/|transport/conformance\\.ts$|backend/conformance\\.ts$)', 'Testing helpers use the public API.'),
    only('builtins', '^src/builtins\\.ts$', `^src/(app/celeriac\\.ts$|transport/(${BROKERS})/|backend/(${STORES})/|rpc/(${RPC_DRIVERS})/)`, 'builtins.ts only names plug-ins.'),
    {
      name: 'nothing-imports-front-ends',
      severity: 'error',
      comment: 'Only the CLI imports the CLI; nothing inside imports the public index (no upward imports).',
      from: { path: '^src/', pathNot: '^src/(cli|dashboard|testing)/|^src/index\\.ts$' },
      to: { path: '^src/(cli/|dashboard/|index\\.ts$)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
  },
};
