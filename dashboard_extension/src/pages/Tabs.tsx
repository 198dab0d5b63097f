import { Box, Text } from "@saleor/macaw-ui";
import { type KeyboardEvent, type ReactNode, useRef } from "react";

export type Tab = { id: string; label: string; content: ReactNode };

/** WAI-ARIA tabs: one tab stop, arrow keys / Home / End move between tabs and select them. */
export function Tabs({ tabs, selected, onSelect, label }: {
  tabs: Tab[];
  selected: string;
  onSelect: (id: string) => void;
  label: string;
}) {
  const buttons = useRef<Record<string, HTMLButtonElement | null>>({});
  const move = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = tabs.findIndex((tab) => tab.id === selected);
    const next = {
      ArrowRight: (index + 1) % tabs.length,
      ArrowLeft: (index - 1 + tabs.length) % tabs.length,
      Home: 0,
      End: tabs.length - 1,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    onSelect(tabs[next].id);
    buttons.current[tabs[next].id]?.focus();
  };
  const current = tabs.find((tab) => tab.id === selected) ?? tabs[0];
  return (
    <Box display="flex" flexDirection="column" gap={6}>
      <Box
        role="tablist"
        aria-label={label}
        display="flex"
        gap={1}
        borderBottomStyle="solid"
        borderBottomWidth={1}
        borderColor="default1"
        onKeyDown={move}
      >
        {tabs.map((tab) => {
          const isSelected = tab.id === current.id;
          return (
            <Box
              as="button"
              key={tab.id}
              ref={(element: HTMLButtonElement | null) => {
                buttons.current[tab.id] = element;
              }}
              type="button"
              role="tab"
              id={`tab-${tab.id}`}
              aria-selected={isSelected}
              aria-controls={`panel-${tab.id}`}
              tabIndex={isSelected ? 0 : -1}
              onClick={() => onSelect(tab.id)}
              className="loyalty-tab"
              backgroundColor="default1"
              borderStyle="none"
              borderBottomStyle="solid"
              borderBottomWidth={1}
              borderColor={isSelected ? "accent1" : "default1"}
              paddingX={3}
              paddingY={2}
              __marginBottom="-1px"
              cursor="pointer"
            >
              <Text size={3} fontWeight={isSelected ? "bold" : "regular"} color={isSelected ? "default1" : "default2"}>
                {tab.label}
              </Text>
            </Box>
          );
        })}
      </Box>
      <Box role="tabpanel" id={`panel-${current.id}`} aria-labelledby={`tab-${current.id}`} tabIndex={0}>
        {current.content}
      </Box>
    </Box>
  );
}
