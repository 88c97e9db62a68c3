/** Help texts: the overview and one per command. */

/** The overview printed by `meshguard help`. */
export const OVERVIEW = `meshguard: a decentralized, WireGuard-compatible mesh VPN

Usage: meshguard <command> [options]

Identity and trust:
  keygen [--force]                   create this node's identity (an Ed25519 key pair)
  export                             print this node's public key, to give to peers
  trust <key|file> [--name NAME] [--org] [--yes] [--ipv4-owner]
                                     trust a peer's public key (or, with --org, an org's)
  revoke <name|key> [--org]          stop trusting a peer (or an org)
  config show [--json]               show the identity, its mesh addresses and trusted keys
  service <list|allow|deny|default|show|reset> ...
                                     which ports peers may reach on this node

Orgs (certificates instead of one key per peer):
  org-keygen [--force]               create the org key (org/org.key) and its <6hex>.mesh domain
  org-sign <key|file> --name N [--expires W] [--wg-pubkey K] [--grant F] [--out F]
                                     sign a node certificate (v1, or v2 with a wg key)
  org-delegate <key|file> --expires W [--out F]
                                     let an issuer key sign certificates until W (one hop)
  org-vouch <key|file>               vouch for a node key (admitted without certificate)
  org-revoke <key|file> [--reason R] revoke a node key everywhere (gossiped by the mesh)
  cert show <file> [--json]          show a certificate and whether it is valid here

Mesh:
  up [--seed HOST:PORT]... [options] run the mesh daemon (root: it creates the interface)
  status [--json] [--interface NAME]  show the running daemon's peers, handshakes and traffic
  down [--interface NAME]            stop the running daemon (it leaves the mesh first)
  netcheck [--json] [--interface NAME]
                                     show the NAT in front of the mesh port (STUN)
  device <ifname> [--mtu N] [--port N] [--workers N] [--retire-idle S] [--no-offload]
                                     run a userspace WireGuard device, configured with wg

Admission control (optional):
  controller --nodes FILE [options]  run the admission controller (signed scores gate the mesh)

Other:
  version                            print the version
  help [command]                     show this help, or one command's

Global options:
  --config DIR     the config directory. Default: $MESHGUARD_CONFIG_DIR, else
                   /etc/meshguard when run as root, else $XDG_CONFIG_HOME/meshguard,
                   else ~/.config/meshguard
  -h, --help       show help

Run 'meshguard help <command>' for the details of a command.
`;

/** Per-command help, keyed by command name. */
export const COMMAND_USAGE: Record<string, string> = {
  controller: `Usage: meshguard controller --nodes FILE [options]

Runs the admission controller: nodes submit signed behaviour scores; a node is ALLOWED while
its latest report is fresh (--max-age) and scores.overall >= --threshold. Every epoch the
controller draws a random secret; allowed pairs get pairwise WireGuard preshared keys
(HKDF-SHA256), served to both ends before the epoch starts. Nodes use it with
'meshguard up --controller URL'.

Options:
  --nodes FILE         JSON object: node id -> identity public key (meshguard export); null
                       only with --allow-unsigned
  --listen HOST:PORT   where to serve HTTP(S) (default 127.0.0.1:8000)
  --db FILE            SQLite database (WAL, 0600): reports, decisions, epochs, audit log.
                       Without it state is in memory only
  --status-file FILE   status.json, rewritten at each change (default: next to --db)
  --epoch-seconds N    epoch length, rotations aligned to the clock (default 60)
  --threshold X        lowest allowed scores.overall (default 0.70)
  --max-age N          oldest allowed report in seconds (default 120)
  --skew N             report timestamps must be within N seconds of our clock (default 30)
  --rate-limit N       reports per node per minute (default 10)
  --allow-unsigned     accept unsigned reports (the proof of concept's agent); logged loudly
  --tls-cert FILE      serve HTTPS with this certificate (PEM), with --tls-key FILE
  --log-level LEVEL    debug, info, warn or error (default info)
`,
  service: `Usage: meshguard service list
       meshguard service allow|deny [--peer NAME|KEY] [--org NAME|KEY] <tcp|udp|all> <port|lo-hi|all>
       meshguard service allow|deny [--peer NAME|KEY] [--org NAME|KEY] all
       meshguard service default allow|deny
       meshguard service show [PEER | --peer PEER] [--cert FILE | --org NAME|KEY]
       meshguard service reset

Service policies: which ports of this node the mesh peers may reach, checked on every packet
a peer sends (after decryption). A packet is held to the peer's own file, then its org's,
then global.policy, then the default; the first matching rule decides. ICMP always passes, and
replies to connections this node opened pass too. A running daemon applies changes at once.

Files (in services/ of the config directory): default (allow|deny, missing = allow),
global.policy, peer/<name>.policy, org/<name>.policy; one rule a line, '#' comments;
at most 64 rules and 4096 bytes a file, 64 peer files and 16 org files.

  list       print every file's rules
  allow|deny add a rule to global.policy, or to the peer's (--peer) or org's (--org) file
  default    set what happens when no rule matches
  show       what a peer (a trusted name or a key) may reach, for common TCP ports, and the
             order of the files it is held to; its org's file is included when its
             certificate is given (--cert, checked as the daemon would) or its org (--org)
  reset      remove every policy file (everything open again)

An org's file holds the members whose certificate that org signed (while it admits them),
between their own peer file and global.policy.
`,
  keygen: `Usage: meshguard keygen [--force] [--config DIR]

Creates this node's identity: identity.key (secret, mode 0600) and identity.pub in the
config directory, and prints the public key on stdout.

  --force    replace an existing identity. Peers that trust the old key will no longer
             admit this node, and its mesh addresses change.
`,
  export: `Usage: meshguard export [--config DIR]

Prints this node's public key (base64) on stdout, e.g. 'meshguard export > node-a.pub'.
Give it to the peers that should trust this node.
`,
  trust: `Usage: meshguard trust <key|file> [--name NAME] [--org] [--yes] [--ipv4-owner]
                     [--config DIR]

Trusts a public key: the base64 key itself, or a file holding it (such as a peer's
identity.pub). The key must be a valid Ed25519 public key.

  --name NAME   name to trust it under: a DNS label ([a-z0-9-], 1-63 characters).
                Default: the file name without its extension, or peer-<first key bytes>;
                for --org, the org's mesh domain.
  --org         trust an org key (its members, by certificate) instead of a single peer
  -y, --yes     replace a different key already trusted under NAME without asking
  --ipv4-owner  give this key its mesh IPv4 on this node even if another key that derives
                the same address holds it (pinned in ipv4_pins; the other key keeps IPv6)

Trusting an already trusted key under a new --name renames it. Mesh IPv4 addresses are a
hash of the key in a /16, so two keys can share one: the key trusted (or, with --open, seen)
first on this node keeps it, the other is reachable over its mesh IPv6 only; 'trust' says
which, and --ipv4-owner is how an administrator changes it.
`,
  revoke: `Usage: meshguard revoke <name|key> [--org] [--config DIR]

Stops trusting a peer, given by its name or its base64 public key.

  --org    revoke a trusted org instead of a peer
`,
  "org-keygen": `Usage: meshguard org-keygen [--force] [--config DIR]

Creates the org key: org/org.key (secret, mode 0600) and org/org.pub, prints the public key
on stdout and the org's mesh domain (<6 hex>.mesh) on stderr. Nodes trust the org with
'meshguard trust --org <key>'.

  --force    replace an existing org key (certificates it signed no longer chain to it)
`,
  "org-sign": `Usage: meshguard org-sign <node key|file> --name NAME [--expires WHEN]
                         [--wg-pubkey KEY|FILE] [--grant FILE] [--out FILE] [--config DIR]

Signs a certificate for a node with the org key (org/org.key), or, with --grant, with this
config dir's identity as an issuer the org delegated to. Writes <config dir>/NAME.cert (or
--out): v1 (186 bytes), or v2 (314 bytes) binding the node's WireGuard key.

  --name NAME        the node's name, a DNS label of at most 32 characters: NAME.<org>.mesh
  --expires WHEN     RFC 3339 date (2027-01-01, 2027-01-01T00:00:00Z), unix seconds, a
                     duration from now (90d, 12h, 2w, 1y) or never (default never)
  --wg-pubkey KEY    make a v2 certificate; KEY must be the key derived from the node key
  --grant FILE       sign as a delegated issuer (org-delegate); v2, expires with the grant
  --out FILE         where to write the certificate
`,
  "org-delegate":
    `Usage: meshguard org-delegate <issuer key|file> --expires WHEN [--out FILE] [--config DIR]

Grants an issuer key the right to sign node certificates for the org until WHEN (one hop:
the issuer cannot delegate further). Writes grants/<hex16>.grant (or --out) for the issuer.
`,
  "org-vouch": `Usage: meshguard org-vouch <node key|file> [--config DIR]

Signs the org's vouch for a node key and writes vouched/<hex16>.vouch: nodes trusting the org
admit that key without a certificate. A daemon using this config dir gossips it at once.
`,
  "org-revoke": `Usage: meshguard org-revoke <node key|file> [--reason R] [--config DIR]

Signs the org's revocation of a node key and writes revoked/<hex16>.revoke. Every member that
hears it (gossip) refuses the key, tears its tunnels down and keeps the revocation on disk.
A later org-vouch of the same key undoes it; an older message never does.

  --reason R   unspecified, key-compromised or admin-removed (default admin-removed)
`,
  cert: `Usage: meshguard cert show <file> [--json] [--config DIR]

Shows a certificate (name, keys, validity) and whether it admits its node on this machine
(its org trusted, not expired, not revoked, signatures good). Exits 1 when it does not.
`,
  config: `Usage: meshguard config show [--json] [--config DIR]

Shows the config directory, this node's identity (Ed25519 key, derived WireGuard key,
mesh IPv4 and IPv6) and the trusted peers and orgs. Works offline and creates nothing.
Says, for each mesh IPv4 that more than one key derives, which key holds it on this node and
which keys get IPv6 only.

  --json   print one JSON object instead of text
`,
  device: `Usage: meshguard device <ifname> [--mtu N] [--port N] [--workers N] [--retire-idle S]
                        [--no-offload]

Runs a userspace WireGuard device in the foreground, like wireguard-go: creates the TUN
interface <ifname> (up, MTU 1420 by default), and serves the WireGuard UAPI socket
/var/run/wireguard/<ifname>.sock, so the standard wg tool configures it (wg set, wg setconf,
wg show). Addresses and routes are set as for any WireGuard interface (ip addr, wg-quick).
SIGINT or SIGTERM removes the interface and the socket. Needs root (CAP_NET_ADMIN) and
--allow-ffi --allow-read --allow-write --allow-net.

  --mtu N     interface MTU (default 1420)
  --port N    UDP listen port (default: any free port; wg set … listen-port changes it)
  --workers N most data-path threads, each with its own TUN queue and UDP socket (default:
              one per CPU, at most 4); one runs at start, the others start under load
              (handshakes, timers and the UAPI stay on the main thread)
  --retire-idle S
              seconds the device stays idle (under 10 % of a core) before a worker started
              under load retires, one per period, down to one (default 60)
  --no-offload plain packets on the TUN: no virtio-net header, no TSO/USO super-packets
              (by default they are probed at start; the log says what the kernel gave)
`,
  up: `Usage: meshguard up [--seed HOST:PORT]... [options] [--config DIR]

Runs the mesh daemon in the foreground: joins the mesh through the seeds, builds a WireGuard
tunnel to every trusted member (keys in authorized_keys/), and gives the interface this node's
mesh addresses. 'trust' and 'revoke' take effect while it runs. Creates an identity if there is
none. SIGINT, SIGTERM or 'meshguard down' make it leave the mesh and remove the interface.
Needs root (CAP_NET_ADMIN, and port 53 for mesh names) unless --no-tun; Deno permissions:
--allow-env --allow-sys --allow-read --allow-write --allow-net --allow-ffi, and
--allow-run=resolvectl to route .mesh through systemd-resolved.

  --seed HOST:PORT    a node to join through (repeatable, up to 16; names are resolved;
                      port defaults to 51821)
  --announce HOST:PORT
                      also advertise this address to members, e.g. a forwarded port on the
                      router or a known public address (repeatable, up to 4; names resolved)
  --port N            UDP port for WireGuard and membership (default 51821)
  --interface NAME    interface name (default mg0)
  --mtu N             interface MTU (default 1420)
  --workers N         most data-path threads, started under load (default one per CPU, ≤ 4)
  --no-offload        plain packets on the TUN (no virtio-net header, no TSO/USO)
  --relay             relay WireGuard traffic (end-to-end encrypted) between trusted members
                      that have no direct path to each other; advertised to members
  --relay-rate RATE   with --relay: cap each sender at RATE per data thread (kbit, mbit or
                      gbit, 1mbit-100gbit, e.g. 10mbit; datagrams/s = bytes/s / 1250;
                      default 1gbit)
  --relay-pairs N     with --relay: relay at most N active pairs per data thread (default 64)
  --open              admit any node (by default only keys in authorized_keys/)
  --max-members N     with --open: admit at most N members that are not in authorized_keys/
                      (default 1024, at most 65534); newcomers beyond it are refused, logged
                      and counted in 'status'
  --stun HOST:PORT    a STUN server to learn this node's public address from (repeatable, up
                      to 8; names are resolved; port defaults to 3478). Default: no third
                      party; members answer STUN on their mesh port and the node asks up to
                      two trusted members with public addresses. '--stun none': no STUN
  --no-tun            membership only: no interface, no WireGuard
  --no-dns            do not serve mesh names (by default a resolver answers for .mesh on
                      port 53 of this node's mesh addresses; README "Names")
  --control PATH      control socket (default /run/meshguard/<interface>.sock as root,
                      else <config dir>/<interface>.sock)
  --log-level LEVEL   debug, info (default), warn or error

Admission control (optional; see 'meshguard help controller'):
  --controller URL    also require the controller's "allowed": report signed scores, poll the
                      config, give each admitted peer its pairwise PSK, remove denied peers at
                      once. Unlisted or denied peers never reach the WireGuard device
  --controller-ca FILE  the CA (PEM) that signed the controller's TLS certificate
  --controller-node-id ID  this node's id at the controller (default: the host name)
  --score-command CMD one of these three gives the scores: CMD (sh -c) prints JSON such as
  --score-file FILE   {"overall": 0.91}, or FILE holds it (read at each report), or
  --score-mock MEAN   the proof of concept's mock emitter (demos)
  --report-interval S seconds between reports (default 10)
  --controller-poll S seconds between config polls (default 10)
  --controller-fail-open  when the controller stays unreachable past the keys' expiry, keep the
                      last keys (default: fail closed, every gated peer is removed)
`,
  status: `Usage: meshguard status [--json] [--interface NAME] [--control PATH] [--config DIR]

Asks the running daemon for its status: this node's interface, port, keys and mesh addresses,
membership counts, and one row per peer (mesh IP, endpoint, state, last handshake, bytes
received and sent). Any local user may ask.

  --json             print the status as one JSON object
  --interface NAME   the daemon's interface (default mg0)
  --control PATH     the daemon's control socket. Default: /run/meshguard/<interface>.sock
                     when run as root, else <config dir>/<interface>.sock
`,
  netcheck: `Usage: meshguard netcheck [--json] [--interface NAME] [--control PATH] [--config DIR]

Asks the running daemon to send STUN Binding requests from its mesh port now, and prints what
came back: each server with its round-trip time and the address it saw, the mapped IPv4 and
IPv6 endpoints, and the NAT's mapping behaviour: public (no NAT), endpoint-independent (one
outside port for every destination: hole punching works), varies-by-destination (symmetric:
punching works only with public or endpoint-independent peers) or unknown (fewer than two
servers at different IPs answered). Waits at most about 6 s. Needs a running daemon: the
mapping that matters is the mesh port's. Any local user may ask.

  --json             print the report as one JSON object
  --interface NAME   the daemon's interface (default mg0)
  --control PATH     the daemon's control socket. Default: /run/meshguard/<interface>.sock
                     when run as root, else <config dir>/<interface>.sock
`,
  down: `Usage: meshguard down [--interface NAME] [--control PATH] [--config DIR]

Asks the running daemon to leave the mesh and stop. Only root or the user running the daemon
may do this.

  --interface NAME   the daemon's interface (default mg0)
  --control PATH     the daemon's control socket. Default: /run/meshguard/<interface>.sock
                     when run as root, else <config dir>/<interface>.sock
`,
  version: `Usage: meshguard version

Prints the version.
`,
  help: `Usage: meshguard help [command]

Shows the overview, or the help of one command.
`,
};
