// The staff GraphQL API the pages read and write, at the app's /dashboard/graphql/, authenticated with the
// dashboard's app token from the AppBridge handshake. Queries and field names live here so they change in one place.

// The bundle is served from <app>/app/assets/, so the API is two levels up whatever prefix the app is mounted under.
export const STAFF_GRAPHQL_URL = new URL(/* @vite-ignore */ "../../dashboard/graphql/", import.meta.url).toString();

export class StaffApiError extends Error {}

export async function staffQuery<T>(token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(STAFF_GRAPHQL_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new StaffApiError("The loyalty app could not be reached.");
  }
  let body: { data?: T | null; errors?: { message: string }[] } | null = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body?.errors?.length) {
    throw new StaffApiError(body.errors.map((error) => error.message).join("; "));
  }
  if (!response.ok || !body?.data) {
    throw new StaffApiError(`The loyalty app answered HTTP ${response.status}.`);
  }
  return body.data;
}

/** The program settings shown on the Program tab, in display order, with their labels. */
export const PROGRAM_SETTINGS_FIELDS = [
  { name: "returnWindowDays", label: "Return window (days)" },
  { name: "expiryPolicy", label: "Points expiry policy" },
] as const;

export type ProgramSettings = Partial<Record<(typeof PROGRAM_SETTINGS_FIELDS)[number]["name"], unknown>>;

export const PROGRAM_SETTINGS_QUERY = `query ProgramSettings { programSettings { ${PROGRAM_SETTINGS_FIELDS.map(
  (field) => field.name,
).join(" ")} } }`;

export async function fetchProgramSettings(token: string): Promise<ProgramSettings | null> {
  const data = await staffQuery<{ programSettings: ProgramSettings | null }>(token, PROGRAM_SETTINGS_QUERY);
  return data.programSettings;
}
