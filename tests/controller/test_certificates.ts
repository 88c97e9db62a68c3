/** A throwaway CA and a server certificate for 127.0.0.1 it signed (openssl), for TLS tests. */

import { join } from "node:path";

async function openssl(args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
}

/** Paths of the CA certificate and of the server's certificate and key, all in `dir`. */
export async function makeTestCertificates(
  dir: string,
): Promise<{ ca: string; cert: string; key: string }> {
  const ca = join(dir, "ca.pem");
  const caKey = join(dir, "ca-key.pem");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const csr = join(dir, "server.csr");
  const ext = join(dir, "server.ext");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-subj",
    "/CN=meshguard test CA",
    "-days",
    "1",
    "-keyout",
    caKey,
    "-out",
    ca,
  ]);
  await openssl([
    "req",
    "-new",
    ...ec,
    "-subj",
    "/CN=controller.test",
    "-keyout",
    key,
    "-out",
    csr,
  ]);
  await Deno.writeTextFile(
    ext,
    "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n" +
      "extendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { ca, cert, key };
}
