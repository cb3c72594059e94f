import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/**
 * Real certificates for TLS tests, made by Debian's `openssl` (no hand-written ASN.1): a CA, and
 * leaf certificates it signs with the names given in their subjectAltName.
 */
export class TestPki {
  private serial = 1;

  constructor(readonly dir: string) {
    this.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", this.file("ca.key"), "-out", this.file("ca.crt"), "-days", "30", "-subj", "/CN=fedmq test CA"]);
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** `<name>.crt` and `<name>.key`, CN = `cn`, SAN = `names` (DNS) and 127.0.0.1, for server and client use. */
  leaf(name: string, cn: string, names: readonly string[] = [cn]): { cert: string; key: string } {
    const ext = this.file(`${name}.ext`);
    fs.writeFileSync(ext, [
      `subjectAltName = ${[...names.map((n) => `DNS:${n}`), "IP:127.0.0.1"].join(", ")}`,
      "extendedKeyUsage = serverAuth, clientAuth",
      "basicConstraints = CA:FALSE",
    ].join("\n"));
    const key = this.file(`${name}.key`);
    const csr = this.file(`${name}.csr`);
    const cert = this.file(`${name}.crt`);
    this.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${cn}`]);
    this.openssl(["x509", "-req", "-in", csr, "-CA", this.file("ca.crt"), "-CAkey", this.file("ca.key"), "-set_serial", String(++this.serial), "-days", "30", "-extfile", ext, "-out", cert]);
    return { cert, key };
  }

  private openssl(args: string[]): void {
    execFileSync("openssl", args, { stdio: "pipe" });
  }
}
