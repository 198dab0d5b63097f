import { Box, Input, Skeleton, Text } from "@saleor/macaw-ui";
import { useEffect, useState } from "react";

import { fetchProgramSettings, PROGRAM_SETTINGS_FIELDS, type ProgramSettings } from "../api";

type Load = { state: "loading" } | { state: "error"; message: string } | { state: "ready"; settings: ProgramSettings };

function display(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** The program's settings, read-only for now (editing arrives with the staff API's mutations). */
export function ProgramTab({ token }: { token: string | undefined }) {
  const [load, setLoad] = useState<Load>({ state: "loading" });
  useEffect(() => {
    if (!token) return;
    let current = true;
    setLoad({ state: "loading" });
    fetchProgramSettings(token)
      .then((settings) => current && setLoad({ state: "ready", settings: settings ?? {} }))
      .catch((error: Error) => current && setLoad({ state: "error", message: error.message }));
    return () => {
      current = false;
    };
    // a refreshed token need not reload what is shown: load once per page, when the first token arrives
  }, [Boolean(token)]);

  return (
    <Box as="section" aria-labelledby="program-heading" display="flex" flexDirection="column" gap={4} __maxWidth="640px">
      <Box display="flex" flexDirection="column" gap={1}>
        <Text as="h2" id="program-heading" size={5} fontWeight="bold">
          Program settings
        </Text>
        <Text size={2} color="default2">
          How orders earn points and when points become available.
        </Text>
      </Box>
      {load.state === "loading" && (
        <Box display="flex" flexDirection="column" gap={3} aria-busy="true" aria-live="polite">
          <Text size={2} color="default2">
            Loading program settings…
          </Text>
          <Skeleton __height="40px" />
          <Skeleton __height="40px" />
        </Box>
      )}
      {load.state === "error" && (
        <Box role="alert" padding={4} borderRadius={4} backgroundColor="critical1">
          <Text size={3} fontWeight="bold" color="critical1">
            Program settings could not be loaded
          </Text>
          <Text as="p" size={2} color="critical1">
            {load.message}
          </Text>
        </Box>
      )}
      {load.state === "ready" && (
        <Box display="grid" gap={4}>
          {PROGRAM_SETTINGS_FIELDS.map((field) => (
            <Input
              key={field.name}
              id={`program-${field.name}`}
              label={field.label}
              value={display(load.settings[field.name])}
              readOnly
            />
          ))}
        </Box>
      )}
    </Box>
  );
}
