using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Coordinator.Data;

public sealed class FarmDb(DbContextOptions<FarmDb> options) : DbContext(options)
{
    public DbSet<ModelRow> Models => Set<ModelRow>();
    public DbSet<SweepRow> Sweeps => Set<SweepRow>();
    public DbSet<PacketRow> Packets => Set<PacketRow>();
    public DbSet<TupleRow> Tuples => Set<TupleRow>();
    public DbSet<ResultRow> Results => Set<ResultRow>();
    public DbSet<InboxRow> Inbox => Set<InboxRow>();
    public DbSet<ClaimRow> Claims => Set<ClaimRow>();
    public DbSet<ClaimUnitRow> ClaimUnits => Set<ClaimUnitRow>();

    public bool IsSqlite => Database.ProviderName?.Contains("Sqlite", StringComparison.Ordinal) == true;

    protected override void ConfigureConventions(ModelConfigurationBuilder builder)
    {
        // Ids are stored as text on both databases, so hand-written SQL and bulk inserts
        // read and write them the same way.
        builder.Properties<Guid>().HaveConversion<string>();
    }

    protected override void OnModelCreating(ModelBuilder b)
    {
        b.Entity<ModelRow>().ToTable("models").HasKey(m => new { m.Name, m.Version });
        b.Entity<SweepRow>().ToTable("sweeps").HasKey(s => s.Id);
        b.Entity<PacketRow>().ToTable("packets").HasKey(p => p.Id);
        b.Entity<TupleRow>().ToTable("tuples").HasKey(t => t.Id);
        b.Entity<InboxRow>().ToTable("inbox").HasKey(i => new { i.MessageId, i.Consumer });
        b.Entity<ClaimRow>().ToTable("claims").HasKey(c => c.Id);
        b.Entity<ClaimUnitRow>().ToTable("claim_units").HasKey(u => new { u.ClaimId, u.Model, u.Op, u.Unit });
        b.Entity<ResultRow>().ToTable("results").HasKey(r => new { r.Model, r.Version, r.Op, r.Unit, r.Technique, r.ParamsHash });
        foreach (var entity in b.Model.GetEntityTypes())
            foreach (var property in entity.GetProperties())
                property.SetColumnName(SnakeCase(property.Name));
    }

    public static string SnakeCase(string name)
    {
        var s = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) s.Append('_');
            s.Append(char.ToLowerInvariant(name[i]));
        }
        return s.ToString();
    }
}
