// Two-factor authentication pieces shared by the login page and the
// account page: the secret to put in an authenticator app (QR code, the
// secret in groups of four, the otpauth link) and recovery codes shown once.
import * as React from "react";
import { useTranslation } from "react-i18next";
import QRCode from "qrcode";
import type { TotpEnrollment } from "@/gen/rustbill/identity/identity_pb";
import { Button } from "@rustbill/ui/button";

export function TotpSecret({ enrollment }: { enrollment: TotpEnrollment }) {
  const { t } = useTranslation();
  const [qr, setQr] = React.useState("");
  React.useEffect(() => {
    let live = true;
    QRCode.toDataURL(enrollment.otpauthUrl, { margin: 1, width: 192 })
      .then((url) => live && setQr(url))
      .catch(() => live && setQr(""));
    return () => {
      live = false;
    };
  }, [enrollment.otpauthUrl]);
  const grouped = enrollment.secret.match(/.{1,4}/g)?.join(" ") ?? enrollment.secret;
  return (
    <div className="grid justify-items-center gap-2 text-center">
      <p className="text-sm text-muted-foreground">{t("twoFactor.scan")}</p>
      {qr ? <img src={qr} alt={t("twoFactor.qrAlt")} width={192} height={192} data-testid="totp-qr" /> : null}
      <code className="rounded bg-muted px-2 py-1 font-mono text-sm tracking-wider" data-testid="totp-secret">
        {grouped}
      </code>
      <a className="text-xs text-primary underline" href={enrollment.otpauthUrl}>
        {t("twoFactor.openApp")}
      </a>
    </div>
  );
}

export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="grid gap-3">
      <p className="text-sm">{t("twoFactor.recoveryIntro")}</p>
      <ul className="grid grid-cols-2 gap-1 rounded bg-muted p-3 font-mono text-sm" data-testid="recovery-codes">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
      <div className="flex gap-2">
        <Button type="button" variant="outline" onClick={() => void navigator.clipboard?.writeText(codes.join("\n"))}>
          {t("twoFactor.copy")}
        </Button>
        <Button type="button" onClick={onDone}>
          {t("twoFactor.saved")}
        </Button>
      </div>
    </div>
  );
}
