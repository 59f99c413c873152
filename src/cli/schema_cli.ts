// `rivet schema config`: prints the JSON Schema of rivet.yaml (coordinator).
import type { Command } from "commander";

export function registerSchema(program: Command, setExit: (p: Promise<number>) => void): void {
  const schema = program.command("schema").description("Print machine-readable schemas");
  schema
    .command("config")
    .description("Print the JSON Schema of rivet.yaml (for editors via yaml-language-server)")
    .action(() => {
      setExit((async () => {
        const { configJsonSchema } = await import("../config/load_config.ts");
        const { printStdout } = await import("../observe/terminal.ts");
        await printStdout(JSON.stringify(configJsonSchema(), null, 2));
        return 0;
      })());
    });
}
